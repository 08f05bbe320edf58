// Text and JSON forms of `pitfalls` (schema in ifxray-pitfalls(1)).
#include "formats/pitfalls.h"

#include <fmt/format.h>

#include "formats/escape.h"
#include "formats/json_writer.h"

namespace ifx::formats {
namespace {

std::string render_json(const report::Pitfalls& p) {
  JsonWriter w;
  w.begin_object().field("go_version", p.go_version);
  w.key("pitfalls").begin_array();
  for (const auto& x : p.pitfalls) {
    w.begin_object().field("kind", x.kind).field("location", x.location);
    w.field("interface_type", x.interface_type).field("dynamic_type", x.dynamic_type);
    w.key("address");
    if (x.address != 0) {
      w.hex(x.address);
    } else {
      w.null();
    }
    w.field("why", x.why).end_object();
  }
  w.end_array();
  w.field("globals_scanned", p.globals_scanned).field("frames_scanned", p.frames_scanned);
  w.field("heap_objects_scanned", p.heap_objects_scanned);
  w.field("channels_scanned", p.channels_scanned);
  w.field("values_visited", p.values_visited);
  w.key("warnings").begin_array();
  for (const auto& s : p.warnings) w.value(s);
  w.end_array().end_object();
  return w.str();
}

std::string render_text(const report::Pitfalls& p) {
  std::string out;
  if (p.pitfalls.empty()) {
    out += "no typed-nil interfaces found\n";
  } else {
    out += fmt::format("{} typed-nil interface{} ({})\n\n", p.pitfalls.size(),
                       p.pitfalls.size() == 1 ? "" : "s", p.go_version);
  }
  for (const auto& x : p.pitfalls) {
    out += fmt::format("{}: {}\n", x.kind, escape_terminal(x.location));
    out += fmt::format("    {}({}) nil", escape_terminal(x.interface_type),
                       escape_terminal(x.dynamic_type));
    if (x.address != 0) out += fmt::format(" at {:#x}", x.address);
    out += fmt::format("\n    {}\n\n", x.why);
  }
  out += fmt::format("examined {} package-level variables, {} frames, ", p.globals_scanned,
                     p.frames_scanned);
  if (p.heap_objects_scanned != 0)
    out += fmt::format("{} typed heap objects, ", p.heap_objects_scanned);
  if (p.channels_scanned != 0) out += fmt::format("{} channels, ", p.channels_scanned);
  out += fmt::format("{} values\n", p.values_visited);
  for (const auto& w : p.warnings) out += fmt::format("warning: {}\n", escape_terminal(w));
  return out;
}

}  // namespace

std::string render_pitfalls(const report::Pitfalls& p, Format format) {
  return format == Format::kJson ? render_json(p) : render_text(p);
}

}  // namespace ifx::formats
