// Text form of `leaks`: a summary line, then each group with what it waits on and why.
#include <fmt/format.h>

#include "formats/escape.h"
#include "formats/leaks.h"

namespace ifx::formats {
namespace {

std::string bytes(uint64_t n) {
  if (n >= (uint64_t{1} << 30))
    return fmt::format("{:.1f} GiB", static_cast<double>(n) / (1 << 30));
  if (n >= (uint64_t{1} << 20))
    return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1 << 20));
  if (n >= (uint64_t{1} << 10))
    return fmt::format("{:.1f} KiB", static_cast<double>(n) / (1 << 10));
  return fmt::format("{} B", n);
}

// The first `max` of v, and how many more of `total` (v may hold only the first of them).
std::string ids(const std::vector<uint64_t>& v, size_t total, size_t max = 12) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < max; ++i) out += (i ? " " : "") + std::to_string(v[i]);
  size_t shown = std::min(v.size(), max);
  if (total > shown) out += fmt::format(" ... ({} more)", total - shown);
  return out;
}

void blocked_on(std::string& out, const report::BlockedOn& b) {
  if (!b.fact.empty()) {
    out += fmt::format("  waits on:   {} ({})\n", b.kind, b.fact);
    return;
  }
  if (b.address == 0) {
    out += fmt::format("  waits on:   {} (unknown)\n", b.kind);
    return;
  }
  out += fmt::format("  waits on:   {} {:#x}", b.kind, b.address);
  if (b.kind == "channel") {
    out += b.elem_type.empty()
               ? fmt::format(", elem {} bytes", b.elem_size)
               : fmt::format(", elem {} ({} bytes)", escape_terminal(b.elem_type), b.elem_size);
    out += fmt::format(", cap {}, len {}{}", b.cap, b.len, b.closed ? ", closed" : "");
    if (b.channels > 1) out += fmt::format(" (and {} more channels)", b.channels - 1);
  }
  if (b.holder != 0) {
    out += fmt::format(", inside heap object {:#x} ({} bytes) at +{:#x}", b.holder, b.holder_size,
                       b.holder_offset);
  } else if (!b.where.empty()) {
    out += ", " + b.where;
  }
  out += "\n";
  if (!b.other_senders.empty())
    out += "  also sending:   goroutines " + ids(b.other_senders, b.other_senders_total) + "\n";
  if (!b.other_receivers.empty())
    out += "  also receiving: goroutines " + ids(b.other_receivers, b.other_receivers_total) + "\n";
}

}  // namespace

std::string render_leaks_text(const report::Leaks& l) {
  std::string out =
      fmt::format("{} goroutines, {} blocked, {} proven leaked, {} suspect, {} unknown", l.total,
                  l.blocked, l.proven, l.suspect, l.unknown);
  if (l.held_bytes) out += fmt::format("; leaked goroutines alone hold {}", bytes(*l.held_bytes));
  out += "\n";
  out += fmt::format("engine: {}\n", escape_terminal(l.engine));
  if (l.runtime_marked) out += "the target's runtime has itself marked goroutines leaked\n";
  for (const auto& g : l.groups) {
    out += fmt::format("\n{} {} goroutine{} [{}]",
                       g.verdict == "proven"    ? "PROVEN"
                       : g.verdict == "suspect" ? "SUSPECT"
                                                : "UNKNOWN",
                       g.goroutines.size(), g.goroutines.size() == 1 ? "" : "s",
                       escape_terminal(g.wait_reason));
    if (g.oldest_wait_minutes)
      out += fmt::format(", oldest waiting {} minutes", *g.oldest_wait_minutes);
    out += "\n";
    out += "  goroutines: " + ids(g.goroutines, g.goroutines.size()) + "\n";
    if (g.created_by) {
      const auto& c = *g.created_by;
      out += fmt::format("  created by: {} at {}:{}", escape_terminal(c.function),
                         escape_terminal(c.file), c.line);
      if (c.parent_goid != 0) out += fmt::format(" in goroutine {}", c.parent_goid);
      out += "\n";
    }
    blocked_on(out, g.blocked_on);
    out += "  why:        " + escape_terminal(g.reason) + "\n";
    if (!g.path.empty()) {
      out += "  held by:    ";
      for (size_t i = 0; i < g.path.size(); ++i) {
        out += (i ? " -> " : "") + escape_terminal(g.path[i].what);
      }
      out += "\n";
    }
    out += "  stack:\n";
    for (const auto& f : g.frames) {
      out += fmt::format("    {}\n        {}:{}\n", escape_terminal(f.function),
                         escape_terminal(f.file), f.line);
    }
  }
  if (!l.growth.empty()) {
    out += fmt::format("\ngrowing groups (over {:.1f} s):\n", l.growth.front().seconds);
    for (const auto& g : l.growth) {
      std::string counts;
      for (uint64_t c : g.counts) counts += (counts.empty() ? "" : " -> ") + std::to_string(c);
      out +=
          fmt::format("  {:+.1f}/min  {}  ({})\n", g.per_minute, escape_terminal(g.group), counts);
    }
  }
  return out;
}

}  // namespace ifx::formats
