// JSON form of `leaks` (schema in ifxray-leaks(1)); the "leaks" array is a contract for scripts.
#include <cmath>

#include "formats/json_writer.h"
#include "formats/leaks.h"

namespace ifx::formats {
namespace {

void ids(JsonWriter& w, std::string_view key, const std::vector<uint64_t>& v) {
  w.key(key).begin_array();
  for (uint64_t id : v) w.value(id);
  w.end_array();
}

}  // namespace

std::string render_leaks_json(const report::Leaks& l) {
  JsonWriter w;
  w.begin_object().field("go_version", l.go_version);
  w.key("summary").begin_object();
  w.field("goroutines", l.total).field("blocked", l.blocked).field("proven", l.proven);
  w.field("suspect", l.suspect).field("unknown", l.unknown);
  w.key("held_bytes");
  if (l.held_bytes) {
    w.value(*l.held_bytes);
  } else {
    w.null();
  }
  w.field("runtime_marked", l.runtime_marked).field("engine", l.engine).end_object();
  w.key("leaks").begin_array();
  for (const auto& g : l.groups) {
    w.begin_object().field("verdict", g.verdict);
    ids(w, "goroutines", g.goroutines);
    w.field("wait_reason", g.wait_reason);
    w.key("oldest_wait_minutes");
    if (g.oldest_wait_minutes) {
      w.value(*g.oldest_wait_minutes);
    } else {
      w.null();
    }
    w.key("created_by");
    if (g.created_by) {
      w.begin_object().field("function", g.created_by->function);
      w.field("file", g.created_by->file).field("line", g.created_by->line);
      w.field("parent_goroutine", g.created_by->parent_goid).end_object();
    } else {
      w.null();
    }
    const auto& b = g.blocked_on;
    w.key("blocked_on").begin_object().field("kind", b.kind);
    if (b.address != 0) {
      w.key("address").hex(b.address);
    } else {
      w.key("address").null();
    }
    if (!b.fact.empty()) w.field("fact", b.fact);
    if (b.kind == "channel") {
      w.field("elem_type", b.elem_type).field("elem_size", b.elem_size);
      w.field("cap", b.cap).field("len", b.len).field("closed", b.closed);
      w.field("channels", static_cast<uint64_t>(b.channels));
      ids(w, "other_senders", b.other_senders);
      w.field("other_senders_total", static_cast<uint64_t>(b.other_senders_total));
      ids(w, "other_receivers", b.other_receivers);
      w.field("other_receivers_total", static_cast<uint64_t>(b.other_receivers_total));
    }
    if (b.holder != 0) {
      w.key("holder").begin_object().key("address").hex(b.holder);
      w.field("size", b.holder_size).field("offset", b.holder_offset).end_object();
    }
    w.field("where", b.where).end_object();
    w.field("reason", g.reason);
    w.key("path").begin_array();
    for (const auto& s : g.path) {
      w.begin_object().field("what", s.what).key("address").hex(s.address);
      w.field("type", s.type).field("field", s.field).end_object();
    }
    w.end_array();
    w.key("frames").begin_array();
    for (const auto& f : g.frames) {
      w.begin_object().field("function", f.function).field("file", f.file).field("line", f.line);
      w.end_object();
    }
    w.end_array().end_object();
  }
  w.end_array();
  if (!l.growth.empty()) {
    w.key("growth").begin_array();
    for (const auto& gr : l.growth) {
      w.begin_object().field("group", gr.group);
      ids(w, "counts", gr.counts);
      w.key("per_minute").value(static_cast<int64_t>(std::llround(gr.per_minute)));
      w.key("milliseconds").value(static_cast<int64_t>(std::llround(gr.seconds * 1000)));
      w.end_object();
    }
    w.end_array();
  }
  w.key("warnings").begin_array();
  for (const auto& s : l.warnings) w.value(s);
  w.end_array().end_object();
  return w.str();
}

}  // namespace ifx::formats
