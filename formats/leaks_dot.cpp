// Graphviz form of `leaks`: each group is a node pointing at the object it waits on; suspects'
// leak paths are chains of nodes from their root.
#include <fmt/format.h>

#include "formats/leaks.h"

namespace ifx::formats {
namespace {

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {  // a line break of the label
      out += "\\n";
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string render_leaks_dot(const report::Leaks& l) {
  std::string out = "digraph leaks {\n  rankdir=LR;\n  node [shape=box, fontname=monospace];\n";
  for (size_t i = 0; i < l.groups.size(); ++i) {
    const auto& g = l.groups[i];
    std::string label = fmt::format("{} x{} [{}]", g.verdict, g.goroutines.size(), g.wait_reason);
    if (g.created_by) label += "\ncreated by " + g.created_by->function;
    out += fmt::format("  g{} [label={}, color={}];\n", i, quote(label),
                       g.verdict == "proven"    ? "red"
                       : g.verdict == "suspect" ? "orange"
                                                : "gray");
    // The object waited on; a leak path's last step names it (its type).
    std::string obj = g.blocked_on.address != 0 ? fmt::format("o{:x}", g.blocked_on.address)
                                                : fmt::format("f{}", i);
    std::string olabel = g.blocked_on.address != 0
                             ? fmt::format("{} {:#x}", g.blocked_on.kind, g.blocked_on.address)
                             : g.blocked_on.kind;
    if (!g.path.empty()) olabel += "\n" + g.path.back().what;
    out +=
        fmt::format("  {} [label={}, shape=ellipse];\n  g{} -> {};\n", obj, quote(olabel), i, obj);
    // Root -> objects -> the object waited on, each edge the reference that keeps it alive.
    std::string prev;
    for (size_t j = 0; j + 1 < g.path.size(); ++j) {
      std::string id = fmt::format("p{}_{}", i, j);
      out += fmt::format("  {} [label={}];\n", id, quote(g.path[j].what));
      if (!prev.empty()) out += fmt::format("  {} -> {};\n", prev, id);
      prev = id;
    }
    if (!prev.empty()) out += fmt::format("  {} -> {} [style=dashed];\n", prev, obj);
  }
  return out + "}\n";
}

}  // namespace ifx::formats
