// JSON form of the `info` report; its keys are a contract with outside scripts (ifxray-info(1)).
#include "formats/executable_json.h"
#include "formats/executable.h"

namespace ifx::formats {
namespace {

void write_module(JsonWriter& w, const report::Module& m) {
  w.begin_object().field("path", m.path).field("version", m.version).field("sum", m.sum);
  w.end_object();
}

void write_dependency(JsonWriter& w, const report::Dependency& d) {
  w.begin_object()
      .field("path", d.module.path)
      .field("version", d.module.version)
      .field("sum", d.module.sum);
  w.key("replace");
  if (d.replace) {
    write_module(w, *d.replace);
  } else {
    w.null();
  }
  w.end_object();
}

void write_pc(JsonWriter& w, const report::PcLookup& p) {
  w.begin_object();
  w.key("pc").hex(p.pc);
  if (!p.error.empty()) w.field("error", p.error);
  if (!p.function.empty()) {
    w.field("function", p.function);
    w.key("entry").hex(p.entry);
    w.field("sp_delta", p.sp_delta);
  }
  w.key("frames").begin_array();
  for (const auto& f : p.frames) {
    w.begin_object()
        .field("function", f.function)
        .field("file", f.file)
        .field("line", f.line)
        .field("inlined", f.inlined)
        .end_object();
  }
  w.end_array().end_object();
}

void write_func(JsonWriter& w, const report::FuncLookup& f) {
  w.begin_object().field("name", f.name);
  if (!f.error.empty()) {
    w.field("error", f.error).end_object();
    return;
  }
  w.key("entry").hex(f.entry);
  w.key("end").hex(f.end);
  w.field("frame_size", f.frame_size)
      .field("args", f.args)
      .field("file", f.file)
      .field("start_line", f.start_line)
      .field("end_line", f.end_line)
      .end_object();
}

void write_entries(JsonWriter& w, std::string_view key,
                   const std::vector<report::LayoutEntry>& entries, bool hex_offsets) {
  w.key(key).begin_object();
  for (const auto& e : entries) {
    w.key(e.name);
    if (!e.offset) {
      w.null();
    } else if (e.size) {
      w.begin_object().field("offset", *e.offset).field("size", *e.size).end_object();
    } else if (hex_offsets) {
      w.hex(*e.offset);
    } else {
      w.value(*e.offset);
    }
  }
  w.end_object();
}

void write_layout(JsonWriter& w, const report::RuntimeLayout& l) {
  w.key("layout").begin_object();
  w.field("source", l.source).field("globals_source", l.globals_source);
  write_entries(w, "fields", l.fields, false);
  write_entries(w, "sizes", l.sizes, false);
  write_entries(w, "globals", l.globals, true);
  w.key("problems").begin_array();
  for (const auto& p : l.problems) w.value(p);
  w.end_array().end_object();
}

}  // namespace

void write_executable_fields(JsonWriter& w, const report::Executable& e) {
  w.field("path", e.path).field("go_version", e.go_version).field("main_path", e.main_path);
  w.key("main_module");
  if (e.main_module) {
    write_dependency(w, *e.main_module);
  } else {
    w.null();
  }
  w.key("deps").begin_array();
  for (const auto& d : e.deps) write_dependency(w, d);
  w.end_array();
  w.key("settings").begin_array();
  for (const auto& s : e.settings) {
    w.begin_object().field("key", s.key).field("value", s.value).end_object();
  }
  w.end_array();
  w.field("goos", e.goos).field("goarch", e.goarch).field("pie", e.pie).field("dwarf", e.dwarf);
  w.field("symbols", e.symbols).field("build_id", e.build_id).field("go_build_id", e.go_build_id);
  w.key("text").begin_object();
  w.key("start").hex(e.text_start);
  w.key("end").hex(e.text_end);
  w.end_object();
  w.field("pclntab_version", e.pclntab_version)
      .field("functions", e.functions)
      .field("files", e.files);
  w.key("pcs").begin_array();
  for (const auto& p : e.pcs) write_pc(w, p);
  w.end_array();
  w.key("funcs").begin_array();
  for (const auto& f : e.funcs) write_func(w, f);
  w.end_array();
  if (e.layout) write_layout(w, *e.layout);
}

std::string render_executable_json(const report::Executable& e) {
  JsonWriter w;
  w.begin_object();
  write_executable_fields(w, e);
  w.end_object();
  return w.str();
}

}  // namespace ifx::formats
