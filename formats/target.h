// Renders the `info` report of a live process or core.
#pragma once

#include <string>

#include "core/report/target.h"
#include "formats/format.h"

namespace ifx::formats {

std::string render_target(const report::TargetInfo& t, Format format);

}  // namespace ifx::formats
