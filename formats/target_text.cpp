// Text form of `info PID|CORE`: the executable's facts, then the process, runtime and threads.
#include <fmt/format.h>

#include "formats/escape.h"
#include "formats/executable.h"
#include "formats/target.h"

namespace ifx::formats {

std::string render_target_json(const report::TargetInfo& t);

namespace {

std::string human_bytes(uint64_t n) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", v, kUnits[u]);
}

template <typename T>
std::string or_unknown(const std::optional<T>& v) {
  return v ? fmt::format("{}", *v) : "unknown";
}

void append_runtime(std::string& out, const report::RuntimeFacts& r) {
  if (r.goroutines) {
    out += fmt::format("goroutines:  {} (as runtime.NumGoroutine counts them)", *r.goroutines);
  } else {
    out += fmt::format("goroutines:  unknown ({})", escape_terminal(r.goroutines_error));
  }
  if (!r.goroutine_states.empty()) {
    out += fmt::format("; allgs holds {}:", or_unknown(r.allglen));
    for (const auto& [state, n] : r.goroutine_states) out += fmt::format(" {} {},", n, state);
    out.pop_back();
  }
  out += '\n';
  out += fmt::format("GOMAXPROCS:  {} ({} CPUs)\n", or_unknown(r.gomaxprocs), or_unknown(r.ncpu));
  out += "heap:        ";
  out += r.heap_in_use ? fmt::format("{} in use", human_bytes(*r.heap_in_use)) : "in use unknown";
  if (r.heap_live) out += fmt::format(", {} live", human_bytes(*r.heap_live));
  if (r.heap_marked) out += fmt::format(", {} marked at the last GC", human_bytes(*r.heap_marked));
  if (r.num_gc) out += fmt::format("; {} GCs", *r.num_gc);
  if (r.pause_total_ns) {
    out += fmt::format(", {:.3f} ms total pause", static_cast<double>(*r.pause_total_ns) / 1e6);
  }
  out += '\n';
  out += fmt::format("runtime:     layouts from {}, globals from {}\n", r.layout_source,
                     r.globals_source);
}

void append_heap_model(std::string& out, const report::HeapModel& h) {
  out +=
      fmt::format("heap model:  {} spans ({} scan), {}; {} objects allocated, {}\n", h.spans,
                  h.scan_spans, human_bytes(h.span_bytes), h.objects, human_bytes(h.object_bytes));
  out += fmt::format("             {} pointer words ({} objects scanned conservatively)\n",
                     h.pointers, h.conservative_objects);
  out += "             roots:";
  for (const auto& [kind, n] : h.roots) out += fmt::format(" {} {},", n, kind);
  if (!h.roots.empty()) out.pop_back();
  out += fmt::format("; {} goroutines scanned conservatively\n", h.conservative_goroutines);
  out += fmt::format("             copied {} in {:.1f} ms; scan {:.1f} ms; roots {:.1f} ms\n",
                     human_bytes(h.copied_bytes), h.capture_ms, h.scan_ms, h.roots_ms);
  for (const auto& q : h.queries) {
    if (!q.found) {
      out += fmt::format("  {:#x}: no allocated object\n", q.address);
      continue;
    }
    out += fmt::format("  {:#x}: object {:#x} size {}{}\n", q.address, q.base, q.size,
                       q.noscan ? " noscan" : "");
    for (const auto& [off, v] : q.pointers) out += fmt::format("    +{:#x} -> {:#x}\n", off, v);
    for (const auto& r : q.roots) out += fmt::format("    root {}\n", escape_terminal(r.where));
  }
  for (const auto& p : h.problems) out += fmt::format("  problem: {}\n", escape_terminal(p));
}

void append_threads(std::string& out, const std::vector<report::ThreadInfo>& threads) {
  out += fmt::format("threads:     {}\n", threads.size());
  out += fmt::format("  {:<8} {:<5} {:<4} {:<10} {}\n", "TID", "STATE", "M", "GOROUTINE", "WHERE");
  for (const auto& t : threads) {
    std::string where;
    if (!t.function.empty()) {
      where = fmt::format("{}  {}:{}", escape_terminal(t.function),
                          t.file.empty() ? "?" : escape_terminal(t.file), t.line);
    } else if (!t.location.empty()) {
      where = escape_terminal(t.location);
    } else if (!t.has_regs) {
      where = "(registers unavailable)";
    }
    out += fmt::format("  {:<8} {:<5} {:<4} {:<10} {}\n", t.tid, t.state,
                       t.m_id ? fmt::format("{}", *t.m_id) : "-",
                       t.goroutine ? fmt::format("{}", *t.goroutine) : "-", where);
  }
}

std::string render_text(const report::TargetInfo& t) {
  std::string out;
  out += t.live ? fmt::format("process {} (live)\n", t.pid)
                : fmt::format("core of process {}\n", t.pid);
  std::string cmd;
  for (const auto& a : t.cmdline) cmd += (cmd.empty() ? "" : " ") + escape_terminal(a);
  out += fmt::format("command:     {}\n", cmd);
  out += fmt::format("executable:  {}\n\n", escape_terminal(t.exe_path));
  out += render_executable_text(t.exe);
  out += '\n';
  append_runtime(out, t.runtime);
  if (t.heap_model) append_heap_model(out, *t.heap_model);
  const auto& m = t.mappings;
  out += fmt::format("mappings:    {} ({}: executable {}, files {}, anonymous {})\n", m.count,
                     human_bytes(m.total_bytes), human_bytes(m.executable_bytes),
                     human_bytes(m.library_bytes), human_bytes(m.anonymous_bytes));
  append_threads(out, t.threads);
  for (const auto& w : t.warnings) out += fmt::format("warning: {}\n", escape_terminal(w));
  return out;
}

}  // namespace

std::string render_target(const report::TargetInfo& t, Format format) {
  return format == Format::kJson ? render_target_json(t) : render_text(t);
}

}  // namespace ifx::formats
