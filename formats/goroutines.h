// Renders `ifxray frames`: Go's own traceback text, grouped text, or JSON.
#pragma once

#include <string>

#include "core/report/goroutines.h"

namespace ifx::formats {

enum class FramesFormat { kText, kGo, kJson };

struct FramesStyle {
  bool group = true;  // text: one entry per identical stack
};

std::string render_goroutines(const report::Goroutines& gs, FramesFormat format,
                              const FramesStyle& style);
std::string render_goroutines_go(const report::Goroutines& gs);
std::string render_goroutines_text(const report::Goroutines& gs, const FramesStyle& style);
std::string render_goroutines_json(const report::Goroutines& gs);
// The runtime's spelling of a function name: generic shapes as "[...]", gopanic as "panic".
std::string go_func_name(std::string_view name);

}  // namespace ifx::formats
