// Renders `ifxray leaks`: grouped text, the JSON contract for scripts, or a Graphviz graph of
// the leak paths.
#pragma once

#include <string>

#include "core/report/leaks.h"

namespace ifx::formats {

std::string render_leaks_text(const report::Leaks& leaks);
// {"leaks": [{"verdict", "goroutines", "wait_reason", "created_by", "blocked_on", "path"}]}
std::string render_leaks_json(const report::Leaks& leaks);
std::string render_leaks_dot(const report::Leaks& leaks);

}  // namespace ifx::formats
