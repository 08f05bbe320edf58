// The Go runtime's traceback format, as runtime.Stack(buf, true) prints it, so that panicparse,
// editors and scripts that read Go tracebacks read ifxray's output too.
#include <fmt/format.h>

#include "formats/escape.h"
#include "formats/goroutines.h"
#include "formats/goroutines_native.h"

namespace ifx::formats {
namespace {

// Go 1.21+ prints the innermost and outermost 50 frames; earlier releases stop after 100
// physical frames.
constexpr size_t kInnerFrames = 50;
constexpr size_t kOuterFrames = 50;
constexpr uint32_t kOldMaxFrames = 100;

void append_frame(std::string& out, const report::Frame& f) {
  std::string_view name = f.function;
  if (name == "runtime.gopanic" || name.find('[') != std::string_view::npos) {
    append_terminal(out, go_func_name(name));
  } else {
    append_terminal(out, name);
  }
  if (f.inlined) {
    out += "(...)\n\t";
  } else {
    out += '(';
    out += f.args;
    out += ")\n\t";
  }
  if (f.file.empty()) {
    out += '?';
  } else {
    append_terminal(out, f.file);
  }
  fmt::format_to(std::back_inserter(out), ":{}", f.line);
  if (!f.inlined && f.pc > f.entry)
    fmt::format_to(std::back_inserter(out), " +{:#x}", f.pc - f.entry);
  out += '\n';
}

void append_frames(std::string& out, const report::Goroutines& gs, const report::Goroutine& g) {
  std::vector<const report::Frame*> shown;
  for (const auto& f : g.frames) {
    if (f.shown) shown.push_back(&f);
  }
  if (shown.empty()) {  // the runtime then prints every frame, runtime ones included
    for (const auto& f : g.frames) shown.push_back(&f);
  }
  if (gs.go_minor > 0 && gs.go_minor < 21) {
    // gentraceback walks 100 physical frames and returns how many it printed; the elision
    // mark follows only when that count is exactly 100.
    uint32_t printed = 0;
    for (const auto* f : shown) {
      if (f->physical_index >= kOldMaxFrames) break;
      append_frame(out, *f);
      ++printed;
    }
    if (printed == kOldMaxFrames) out += "...additional frames elided...\n";
    return;
  }
  if (shown.size() <= kInnerFrames + kOuterFrames) {
    for (const auto* f : shown) append_frame(out, *f);
    return;
  }
  for (size_t i = 0; i < kInnerFrames; ++i) append_frame(out, *shown[i]);
  out += fmt::format("...{} frames elided...\n", shown.size() - kInnerFrames - kOuterFrames);
  for (size_t i = shown.size() - kOuterFrames; i < shown.size(); ++i) append_frame(out, *shown[i]);
}

}  // namespace

std::string go_func_name(std::string_view name) {
  if (name == "runtime.gopanic") return "panic";
  size_t open = name.find('[');
  size_t close = name.rfind(']');
  if (open == std::string_view::npos || close == std::string_view::npos || close <= open) {
    return std::string(name);
  }
  return fmt::format("{}[...]{}", name.substr(0, open), name.substr(close + 1));
}

std::string render_goroutines_go(const report::Goroutines& gs) {
  std::string out;
  bool first = true;
  for (const auto& g : gs.goroutines) {
    if (g.system && !gs.include_system) continue;
    if (!first) out += '\n';
    first = false;
    out += fmt::format("goroutine {} [{}", g.goid, escape_terminal(g.header_state));
    if (g.scan) out += " (scan)";
    if (g.wait_minutes && *g.wait_minutes >= 1) out += fmt::format(", {} minutes", *g.wait_minutes);
    if (g.locked_to_thread) out += ", locked to thread";
    out += "]:\n";
    append_frames(out, gs, g);
    if (!g.error.empty()) {
      out += fmt::format("ifxray: stack incomplete: {}\n", escape_terminal(g.error));
    }
    if (g.created_by && g.created_by->shown) {
      const auto& c = *g.created_by;
      out += fmt::format("created by {}", go_func_name(escape_terminal(c.function)));
      if (c.parent_goid != 0) out += fmt::format(" in goroutine {}", c.parent_goid);
      out += fmt::format("\n\t{}:{}", c.file.empty() ? "?" : escape_terminal(c.file), c.line);
      if (c.pc > c.entry) out += fmt::format(" +{:#x}", c.pc - c.entry);
      out += '\n';
    }
  }
  out += render_native_go(gs);
  return out;
}

std::string render_goroutines(const report::Goroutines& gs, FramesFormat format,
                              const FramesStyle& style) {
  switch (format) {
    case FramesFormat::kGo:
      return render_goroutines_go(gs);
    case FramesFormat::kJson:
      return render_goroutines_json(gs);
    case FramesFormat::kPprof:
      return render_goroutines_pprof(gs, style);
    case FramesFormat::kFolded:
      return render_goroutines_folded(gs);
    case FramesFormat::kText:
      break;
  }
  return render_goroutines_text(gs, style);
}

}  // namespace ifx::formats
