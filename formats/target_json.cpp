// JSON form of `info PID|CORE`: the executable's keys, then the process's. "goroutines" and
// "threads" are a contract with outside scripts (ifxray-info(1)).
#include "formats/executable_json.h"
#include "formats/target.h"

namespace ifx::formats {
namespace {

template <typename T>
void optional_field(JsonWriter& w, std::string_view key, const std::optional<T>& v) {
  w.key(key);
  if (v) {
    w.value(*v);
  } else {
    w.null();
  }
}

void write_thread(JsonWriter& w, const report::ThreadInfo& t) {
  w.begin_object().field("tid", static_cast<int64_t>(t.tid));
  w.field("state", std::string(1, t.state)).field("name", t.name);
  if (t.has_regs) {
    w.key("pc").hex(t.pc);
    w.key("sp").hex(t.sp);
  }
  if (!t.function.empty()) {
    w.field("function", t.function).field("file", t.file).field("line", t.line);
  }
  if (!t.location.empty()) w.field("location", t.location);
  optional_field(w, "m", t.m_id);
  optional_field(w, "goroutine", t.goroutine);
  w.end_object();
}

void write_runtime(JsonWriter& w, const report::RuntimeFacts& r) {
  optional_field(w, "goroutines", r.goroutines);
  if (!r.goroutines_error.empty()) w.field("goroutines_error", r.goroutines_error);
  optional_field(w, "gomaxprocs", r.gomaxprocs);
  optional_field(w, "ncpu", r.ncpu);
  optional_field(w, "allglen", r.allglen);
  w.key("goroutine_states").begin_object();
  for (const auto& [state, n] : r.goroutine_states) w.field(state, n);
  w.end_object();
  w.key("heap").begin_object();
  optional_field(w, "in_use_bytes", r.heap_in_use);
  optional_field(w, "live_bytes", r.heap_live);
  optional_field(w, "marked_bytes", r.heap_marked);
  optional_field(w, "num_gc", r.num_gc);
  optional_field(w, "pause_total_ns", r.pause_total_ns);
  optional_field(w, "last_gc_unix_ns", r.last_gc_unix_ns);
  w.end_object();
  w.field("layout_source", r.layout_source).field("globals_source", r.globals_source);
}

void write_heap_model(JsonWriter& w, const report::HeapModel& h) {
  w.key("heap_model").begin_object();
  w.field("spans", h.spans).field("scan_spans", h.scan_spans).field("span_bytes", h.span_bytes);
  w.field("objects", h.objects).field("object_bytes", h.object_bytes);
  w.field("pointers", h.pointers).field("conservative_objects", h.conservative_objects);
  w.field("copied_bytes", h.copied_bytes)
      .field("capture_us", static_cast<uint64_t>(h.capture_ms * 1000));
  w.field("scan_us", static_cast<uint64_t>(h.scan_ms * 1000));
  w.field("roots_us", static_cast<uint64_t>(h.roots_ms * 1000));
  w.key("roots").begin_object();
  for (const auto& [kind, n] : h.roots) w.field(kind, n);
  w.end_object();
  w.field("conservative_goroutines", h.conservative_goroutines);
  w.key("objects_queried").begin_array();
  for (const auto& q : h.queries) {
    w.begin_object();
    w.key("address").hex(q.address);
    w.field("found", q.found);
    if (q.found) {
      w.key("base").hex(q.base);
      w.field("size", q.size).field("noscan", q.noscan);
      w.key("mspan").hex(q.mspan);
      w.key("pointers").begin_array();
      for (const auto& [off, v] : q.pointers) {
        w.begin_object().field("offset", off);
        w.key("value").hex(v);
        w.end_object();
      }
      w.end_array();
      w.key("roots").begin_array();
      for (const auto& r : q.roots) {
        w.begin_object().field("kind", r.kind).field("where", r.where);
        w.key("slot").hex(r.slot);
        w.key("value").hex(r.value);
        w.field("goid", r.goid).field("conservative", r.conservative);
        w.end_object();
      }
      w.end_array();
    }
    w.end_object();
  }
  w.end_array();
  w.key("problems").begin_array();
  for (const auto& p : h.problems) w.value(p);
  w.end_array();
  w.end_object();
}

}  // namespace

std::string render_target_json(const report::TargetInfo& t) {
  JsonWriter w;
  w.begin_object();
  write_executable_fields(w, t.exe);
  w.field("target", t.live ? "live" : "core").field("pid", static_cast<int64_t>(t.pid));
  w.field("exe_path", t.exe_path);
  w.key("cmdline").begin_array();
  for (const auto& a : t.cmdline) w.value(a);
  w.end_array();
  write_runtime(w, t.runtime);
  if (t.heap_model) write_heap_model(w, *t.heap_model);
  w.key("threads").begin_array();
  for (const auto& th : t.threads) write_thread(w, th);
  w.end_array();
  w.key("mappings").begin_object();
  w.field("count", static_cast<uint64_t>(t.mappings.count))
      .field("total_bytes", t.mappings.total_bytes)
      .field("executable_bytes", t.mappings.executable_bytes)
      .field("library_bytes", t.mappings.library_bytes)
      .field("anonymous_bytes", t.mappings.anonymous_bytes);
  w.end_object();
  w.key("warnings").begin_array();
  for (const auto& warning : t.warnings) w.value(warning);
  w.end_array();
  w.end_object();
  return w.str();
}

}  // namespace ifx::formats
