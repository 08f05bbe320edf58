// Renders `ifxray pitfalls`: text for people, JSON for scripts (keys are a stable interface).
#pragma once

#include <string>

#include "core/report/pitfalls.h"
#include "formats/format.h"

namespace ifx::formats {

std::string render_pitfalls(const report::Pitfalls& p, Format format);

}  // namespace ifx::formats
