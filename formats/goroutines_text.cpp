// Grouped text: goroutines with identical state and stack share one entry, largest group first
// (as Delve's `goroutines -group` and panicparse do).
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "formats/escape.h"
#include "formats/goroutines.h"
#include "formats/goroutines_native.h"

namespace ifx::formats {
namespace {

std::string stack_key(const report::Goroutine& g) {
  std::string key = g.header_state + (g.locked_to_thread ? "|locked" : "") + "|" + g.error;
  if (g.native) key += fmt::format("|native on {}", g.thread.value_or(0));  // one per thread
  for (const auto& cb : g.callback_native) {
    key += fmt::format("|callback {}:", cb.frame);
    for (const auto& f : cb.stack.frames) key += fmt::format("{:#x},", f.pc);
  }
  for (const auto& [k, v] : g.labels) key += fmt::format("|{}={}", k, v);
  for (const auto& f : g.frames) key += fmt::format("|{}:{}:{}", f.function, f.file, f.line);
  if (g.created_by) key += fmt::format("|{}:{}", g.created_by->function, g.created_by->line);
  return key;
}

void append_group(std::string& out, const std::vector<const report::Goroutine*>& group) {
  const report::Goroutine& g = *group.front();
  std::optional<int64_t> longest;
  for (const auto* m : group) {
    if (m->wait_minutes && (!longest || *m->wait_minutes > *longest)) longest = m->wait_minutes;
  }
  out += fmt::format("{} goroutine{} [{}", group.size(), group.size() == 1 ? "" : "s",
                     escape_terminal(g.header_state));
  if (longest && *longest >= 1) {
    // A core without a clock: "now" is a lower bound, and so is the wait.
    out += fmt::format(", {}{} minutes", g.wait_estimated ? "at least " : "", *longest);
  }
  if (g.locked_to_thread) out += ", locked to thread";
  out += "]:";
  size_t shown_ids = std::min<size_t>(group.size(), 10);
  for (size_t i = 0; i < shown_ids; ++i) out += fmt::format(" {}", group[i]->goid);
  if (shown_ids < group.size()) out += fmt::format(" ... (+{})", group.size() - shown_ids);
  out += '\n';
  if (!g.labels.empty()) {
    out += "    labels:";
    for (const auto& [k, v] : g.labels) {
      out += fmt::format(" {}={}", escape_terminal(k), escape_terminal(v));
    }
    out += '\n';
  }
  if (!g.labels_error.empty()) {
    out += fmt::format("    (labels incomplete: {})\n", escape_terminal(g.labels_error));
  }
  for (size_t i = 0; i < g.frames.size(); ++i) {
    const report::Frame& f = g.frames[i];
    out += fmt::format("    {}{}{}\n        {}:{}", escape_terminal(go_func_name(f.function)),
                       f.inlined ? " (inlined)" : "", f.wrapper ? " (wrapper)" : "",
                       f.file.empty() ? "?" : escape_terminal(f.file), f.line);
    if (!f.inlined)
      out += fmt::format("  pc={:#x} +{:#x} sp={:#x} frame={}", f.pc, f.pc - f.entry, f.sp,
                         f.frame_size);
    out += '\n';
    for (const auto& v : f.locals) {
      out += fmt::format("        {} {} = ", v.arg ? "arg" : "local", escape_terminal(v.name));
      if (!v.unavailable.empty()) {
        out += fmt::format("({}) <{}>\n", escape_terminal(v.type), escape_terminal(v.unavailable));
      } else {
        out += escape_terminal(v.value) + '\n';
      }
    }
    for (const auto& cb : g.callback_native) {
      if (cb.frame != i) continue;
      out += "      native frames under it (C code that called back into Go):\n";
      append_native_text(out, cb.stack, "        ");
    }
  }
  if (!g.error.empty())
    out += fmt::format("    (stack incomplete: {})\n", escape_terminal(g.error));
  if (g.native) {
    out += g.thread ? fmt::format("    native frames on thread {}:\n", *g.thread)
                    : std::string("    native frames:\n");
    append_native_text(out, *g.native, "      ");
  }
  if (!g.disasm.empty()) {
    out += "    instructions:\n";
    for (const auto& i : g.disasm) {
      out += fmt::format("    {} {:#x}  {:<20} {:<40} {}:{}\n", i.current ? "=>" : "  ", i.address,
                         i.bytes, i.text, escape_terminal(i.file), i.line);
    }
  }
  if (g.created_by) {
    const auto& c = *g.created_by;
    out += fmt::format("    created by {}", escape_terminal(go_func_name(c.function)));
    if (c.parent_goid != 0) out += fmt::format(" in goroutine {}", c.parent_goid);
    out += fmt::format(" at {}:{}\n", escape_terminal(c.file), c.line);
  }
  out += '\n';
}

}  // namespace

std::string render_goroutines_text(const report::Goroutines& gs, const FramesStyle& style) {
  std::vector<std::vector<const report::Goroutine*>> groups;
  std::map<std::string, size_t> index;
  for (const auto& g : gs.goroutines) {
    std::string key = style.group ? stack_key(g) : fmt::format("#{}", g.goid);
    auto [it, added] = index.emplace(key, groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(&g);
  }
  std::stable_sort(groups.begin(), groups.end(),
                   [](const auto& a, const auto& b) { return a.size() > b.size(); });
  std::string out = fmt::format("{} goroutines in {} group{} ({})\n\n", gs.goroutines.size(),
                                groups.size(), groups.size() == 1 ? "" : "s", gs.go_version);
  for (const auto& group : groups) append_group(out, group);
  out += render_native_threads_text(gs);
  for (const auto& w : gs.warnings) out += fmt::format("warning: {}\n", escape_terminal(w));
  return out;
}

}  // namespace ifx::formats
