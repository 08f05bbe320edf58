// Native frames of `frames --native` in text, Go-traceback and JSON form.
#include <fmt/format.h>

#include "formats/escape.h"
#include "formats/goroutines_native.h"

namespace ifx::formats {
namespace {

std::string base_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string where(const report::NativeFrame& f) {
  if (f.module.empty()) return "?";
  return f.has_offset ? fmt::format("{}+{:#x}", escape_terminal(base_name(f.module)), f.offset)
                      : escape_terminal(base_name(f.module));
}

std::string name(const report::NativeFrame& f) {
  return f.function.empty() ? "??" : escape_terminal(f.function);
}

std::string stack_end(const report::NativeStack& s) {
  if (!s.error.empty())
    return fmt::format("(native stack incomplete: {})", escape_terminal(s.error));
  if (s.truncated) return "(native frames truncated)";
  if (!s.reached_go.empty())
    return fmt::format("(then Go code: {})", escape_terminal(s.reached_go));
  return {};
}

}  // namespace

void append_native_text(std::string& out, const report::NativeStack& s, std::string_view indent) {
  for (const auto& f : s.frames) {
    out += fmt::format("{}{}{}\n", indent, name(f), f.inlined ? " (inlined)" : "");
    if (!f.inlined)
      out += fmt::format("{}    {}  pc={:#x} sp={:#x}\n", indent, where(f), f.pc, f.sp);
  }
  std::string end = stack_end(s);
  if (!end.empty()) out += fmt::format("{}{}\n", indent, end);
}

std::string render_native_threads_text(const report::Goroutines& gs) {
  std::string out;
  if (!gs.native) return out;
  out += fmt::format("{} thread{} in C code running no goroutine\n\n", gs.native_threads.size(),
                     gs.native_threads.size() == 1 ? "" : "s");
  for (const auto& t : gs.native_threads) {
    out += fmt::format("thread {} [{}{}]:\n", t.tid, escape_terminal(t.name),
                       t.runtime_thread ? ", a Go runtime thread" : "");
    append_native_text(out, t.stack, "    ");
    out += '\n';
  }
  return out;
}

// Go's traceback has no place for C frames: they follow every goroutine, as blocks that start
// with "native", so that a reader of Go tracebacks (which starts a goroutine at "goroutine N [")
// sees them as text between goroutines, if at all.
std::string render_native_go(const report::Goroutines& gs) {
  std::string out;
  if (!gs.native) return out;
  auto frames = [&](const report::NativeStack& s) {
    for (const auto& f : s.frames) {
      out += fmt::format("{}{}\n\t{}", name(f), f.inlined ? "(...)" : "()", where(f));
      if (!f.inlined) out += fmt::format(" pc={:#x}", f.pc);
      out += '\n';
    }
    std::string end = stack_end(s);
    if (!end.empty()) out += end + '\n';
  };
  for (const auto& g : gs.goroutines) {
    if (g.system && !gs.include_system) continue;
    if (g.native) {
      out += fmt::format("\nnative frames of goroutine {}", g.goid);
      if (g.thread) out += fmt::format(" on thread {}", *g.thread);
      out += ":\n";
      frames(*g.native);
    }
    for (const auto& cb : g.callback_native) {
      out += fmt::format("\nnative frames of goroutine {} under runtime.cgocallback", g.goid);
      if (cb.frame < g.frames.size()) out += fmt::format(" sp={:#x}", g.frames[cb.frame].sp);
      out += ":\n";
      frames(cb.stack);
    }
  }
  for (const auto& t : gs.native_threads) {
    out += fmt::format("\nnative thread {} [{}{}]:\n", t.tid, escape_terminal(t.name),
                       t.runtime_thread ? ", Go runtime" : "");
    frames(t.stack);
  }
  return out;
}

void write_native_json(JsonWriter& w, const report::NativeStack& s) {
  w.begin_object().key("frames").begin_array();
  for (const auto& f : s.frames) {
    w.begin_object().field("function", f.function).field("inlined", f.inlined);
    w.field("module", f.module);
    w.key("pc").hex(f.pc);
    w.key("sp").hex(f.sp);
    w.key("offset");
    if (f.has_offset) {
      w.hex(f.offset);
    } else {
      w.null();
    }
    w.end_object();
  }
  w.end_array();
  w.field("reached_go", s.reached_go).field("truncated", s.truncated).field("error", s.error);
  w.end_object();
}

void write_native_threads_json(JsonWriter& w, const report::Goroutines& gs) {
  if (!gs.native) return;
  w.key("native_threads").begin_array();
  for (const auto& t : gs.native_threads) {
    w.begin_object().field("tid", static_cast<int64_t>(t.tid)).field("name", t.name);
    w.field("runtime_thread", t.runtime_thread);
    w.key("native");
    write_native_json(w, t.stack);
    w.end_object();
  }
  w.end_array();
}

}  // namespace ifx::formats
