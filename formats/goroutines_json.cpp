// JSON form of `frames` (schema in ifxray-frames(1)).
#include "formats/goroutines.h"
#include "formats/goroutines_native.h"
#include "formats/json_writer.h"

namespace ifx::formats {

std::string render_goroutines_json(const report::Goroutines& gs) {
  JsonWriter w;
  w.begin_object().field("go_version", gs.go_version);
  w.key("goroutines").begin_array();
  for (const auto& g : gs.goroutines) {
    w.begin_object().field("id", g.goid).field("status", g.status);
    w.field("wait_reason", g.wait_reason).field("state", g.header_state);
    w.key("wait_minutes");
    if (g.wait_minutes) {
      w.value(*g.wait_minutes);
    } else {
      w.null();
    }
    w.key("wait_ns");
    if (g.wait_ns) {
      w.value(*g.wait_ns);
    } else {
      w.null();
    }
    w.field("wait_estimated", g.wait_estimated);
    w.key("labels").begin_object();
    for (const auto& [k, v] : g.labels) w.field(k, v);
    w.end_object();
    w.field("labels_error", g.labels_error);
    w.field("locked_to_thread", g.locked_to_thread).field("system", g.system);
    w.key("thread");
    if (g.thread) {
      w.value(static_cast<int64_t>(*g.thread));
    } else {
      w.null();
    }
    w.field("running_in", g.running_in);
    w.field("start_function", g.start_function);
    w.key("frames").begin_array();
    for (const auto& f : g.frames) {
      w.begin_object().field("function", f.function).field("file", f.file).field("line", f.line);
      w.field("inlined", f.inlined).field("shown", f.shown).field("wrapper", f.wrapper);
      w.field("start_line", f.start_line).field("args", f.args);
      w.key("pc").hex(f.pc);
      w.key("entry").hex(f.entry);
      w.key("sp").hex(f.sp);
      w.field("frame_size", f.frame_size);
      if (gs.with_locals) {
        w.key("locals").begin_array();
        for (const auto& v : f.locals) {
          w.begin_object().field("name", v.name).field("arg", v.arg).field("type", v.type);
          if (v.unavailable.empty()) {
            w.field("value", v.value).field("dynamic_type", v.dynamic_type);
          } else {
            w.field("unavailable", v.unavailable);
          }
          w.end_object();
        }
        w.end_array();
      }
      w.end_object();
    }
    w.end_array();
    w.key("created_by");
    if (g.created_by) {
      const auto& c = *g.created_by;
      w.begin_object().field("function", c.function).field("file", c.file).field("line", c.line);
      w.key("pc").hex(c.pc);
      w.field("parent_goroutine", c.parent_goid).end_object();
    } else {
      w.null();
    }
    if (!g.disasm.empty()) {
      w.key("disasm").begin_array();
      for (const auto& i : g.disasm) {
        w.begin_object();
        w.key("address").hex(i.address);
        w.field("bytes", i.bytes).field("text", i.text).field("file", i.file).field("line", i.line);
        w.field("current", i.current).end_object();
      }
      w.end_array();
    }
    if (g.native) {
      w.key("native");
      write_native_json(w, *g.native);
    }
    if (gs.native) {
      w.key("callback_native").begin_array();
      for (const auto& cb : g.callback_native) {
        w.begin_object().field("frame", static_cast<int64_t>(cb.frame)).key("native");
        write_native_json(w, cb.stack);
        w.end_object();
      }
      w.end_array();
    }
    w.field("truncated", g.truncated).field("error", g.error).end_object();
  }
  w.end_array();
  write_native_threads_json(w, gs);
  w.key("warnings").begin_array();
  for (const auto& warning : gs.warnings) w.value(warning);
  w.end_array().end_object();
  return w.str();
}

}  // namespace ifx::formats
