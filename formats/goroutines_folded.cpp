// Folded stacks (Brendan Gregg's stackcollapse format) for flame graphs: one line per distinct
// stack, `outermost;...;innermost count`, with the frames of the goroutine profile (inlined calls
// included) but not its depth limit. With --native, C frames continue a goroutine's stack at its
// innermost end, the C frames under a Go callback from C sit under its runtime.cgocallback frame,
// and each thread in C code is a stack of its own, as perf's stacks are.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "formats/escape.h"
#include "formats/goroutines.h"

namespace ifx::formats {
namespace {

// ';' separates frames and a line ends the stack: neither may appear inside a name.
std::string folded_name(std::string_view name) {
  std::string out = escape_terminal(name);
  std::replace(out.begin(), out.end(), ';', ':');
  return out.empty() ? "?" : out;
}

void append_native(std::string& line, const report::NativeStack& s) {
  for (auto it = s.frames.rbegin(); it != s.frames.rend(); ++it) {
    if (!line.empty()) line += ';';
    line += it->function.empty() ? std::string("??") : folded_name(it->function);
  }
}

}  // namespace

std::string render_goroutines_folded(const report::Goroutines& gs) {
  std::map<std::string, size_t> counts;
  for (const auto& g : gs.goroutines) {
    if ((g.system && !gs.include_system) || g.frames.empty()) continue;  // as in pprof
    std::vector<const report::Frame*> stack = profile_stack(g, 0);
    if (stack.empty()) continue;
    std::string line;
    // The C frames under a callback come before (outside) the runtime.cgocallback frame above
    // them, in the goroutine profile's frames or not.
    auto next_cb = g.callback_native.rbegin();
    for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
      auto index = static_cast<size_t>(*it - g.frames.data());
      for (; next_cb != g.callback_native.rend() && next_cb->frame >= index; ++next_cb) {
        append_native(line, next_cb->stack);
      }
      if (!line.empty()) line += ';';
      line += folded_name((*it)->function);
    }
    for (; next_cb != g.callback_native.rend(); ++next_cb) append_native(line, next_cb->stack);
    if (g.native) append_native(line, *g.native);
    ++counts[line];
  }
  for (const auto& t : gs.native_threads) {
    std::string line;
    append_native(line, t.stack);
    if (!line.empty()) ++counts[line];
  }
  std::vector<std::pair<std::string, size_t>> lines(counts.begin(), counts.end());
  std::stable_sort(lines.begin(), lines.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (const auto& [stack, count] : lines) out += fmt::format("{} {}\n", stack, count);
  return out;
}

}  // namespace ifx::formats
