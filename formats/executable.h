// Renders the `info` report of an executable as text or JSON.
#pragma once

#include <string>

#include "core/report/executable.h"
#include "formats/format.h"

namespace ifx::formats {

std::string render_executable(const report::Executable& e, Format format);
std::string render_executable_text(const report::Executable& e);
std::string render_executable_json(const report::Executable& e);

}  // namespace ifx::formats
