// Text form of the `info` report: build info as `go version -m` prints it, then layout facts and
// the answers to --pc and --func.
#include <fmt/format.h>

#include "formats/escape.h"
#include "formats/executable.h"

namespace ifx::formats {
namespace {

// Go quotes build setting keys and values that would not survive the tab-separated form.
std::string quoted(std::string_view s, bool quote) {
  return quote ? "\"" + escape_json(s) + "\"" : escape_terminal(s);
}

void append_module(std::string& out, std::string_view kind, const report::Module& m) {
  out += fmt::format("\t{}\t{}\t{}", kind, escape_terminal(m.path), escape_terminal(m.version));
  if (!m.sum.empty()) out += "\t" + escape_terminal(m.sum);
  out += '\n';
}

void append_build_info(std::string& out, const report::Executable& e) {
  out += fmt::format("{}: {}\n", escape_terminal(e.path), escape_terminal(e.go_version));
  if (!e.main_path.empty()) out += fmt::format("\tpath\t{}\n", escape_terminal(e.main_path));
  if (e.main_module) append_module(out, "mod", e.main_module->module);
  for (const auto& d : e.deps) {
    append_module(out, "dep", d.module);
    if (d.replace) append_module(out, "=>", *d.replace);
  }
  for (const auto& s : e.settings) {
    bool quote_key = s.key.empty() || s.key.find_first_of("= \t\r\n\"`") != std::string::npos;
    bool quote_value = s.value.find_first_of(" \t\r\n\"`") != std::string::npos;
    out += fmt::format("\tbuild\t{}={}\n", quoted(s.key, quote_key), quoted(s.value, quote_value));
  }
}

void append_pc(std::string& out, const report::PcLookup& p) {
  if (!p.error.empty()) {
    out += fmt::format("\npc {:#x}: {}\n", p.pc, escape_terminal(p.error));
    return;
  }
  out += fmt::format("\npc {:#x}: {}+{:#x} (sp delta {})\n", p.pc, escape_terminal(p.function),
                     p.pc - p.entry, p.sp_delta);
  for (const auto& f : p.frames) {
    out += fmt::format("    {}\n        {}:{}{}\n", escape_terminal(f.function),
                       f.file.empty() ? "?" : escape_terminal(f.file), f.line,
                       f.inlined ? " (inlined)" : "");
  }
}

void append_func(std::string& out, const report::FuncLookup& f) {
  if (!f.error.empty()) {
    out += fmt::format("\nfunc {}: {}\n", escape_terminal(f.name), escape_terminal(f.error));
    return;
  }
  out += fmt::format("\nfunc {}\n", escape_terminal(f.name));
  out += fmt::format("    entry {:#x}, end {:#x} ({} bytes)\n", f.entry, f.end, f.end - f.entry);
  out += fmt::format("    frame {} bytes, arguments {} bytes\n", f.frame_size, f.args);
  out += fmt::format("    {}:{}-{}\n", escape_terminal(f.file), f.start_line, f.end_line);
}

void append_layout(std::string& out, const report::RuntimeLayout& l) {
  out += fmt::format("\nruntime layout from {}, globals from {}\n", l.source, l.globals_source);
  auto value = [](const report::LayoutEntry& e) {
    if (!e.offset) return std::string("absent");
    return e.size ? fmt::format("offset {} size {}", *e.offset, *e.size)
                  : fmt::format("{:#x}", *e.offset);
  };
  for (const auto* group : {&l.fields, &l.sizes, &l.globals}) {
    for (const auto& e : *group) out += fmt::format("    {:<40} {}\n", e.name, value(e));
  }
  for (const auto& p : l.problems) out += fmt::format("    problem: {}\n", escape_terminal(p));
}

}  // namespace

std::string render_executable_text(const report::Executable& e) {
  std::string out;
  append_build_info(out, e);
  out += '\n';
  out += fmt::format(
      "executable:  {}{}\n", e.pie ? "position-independent (PIE)" : "static address",
      e.goos.empty() ? ""
                     : fmt::format(", {}/{}", escape_terminal(e.goos), escape_terminal(e.goarch)));
  out += e.dwarf ? "DWARF:       present\n" : "DWARF:       absent (stripped)\n";
  out += fmt::format("symbols:     {}\n", e.symbols ? "present" : "absent (stripped)");
  if (!e.build_id.empty()) out += fmt::format("build id:    {}\n", e.build_id);
  if (!e.go_build_id.empty()) {
    out += fmt::format("Go build id: {}\n", escape_terminal(e.go_build_id));
  }
  out += fmt::format("text:        {:#x}-{:#x} ({} bytes)\n", e.text_start, e.text_end,
                     e.text_end - e.text_start);
  out += fmt::format("pclntab:     Go {} format, {} functions, {} source files\n",
                     e.pclntab_version, e.functions, e.files);
  for (const auto& p : e.pcs) append_pc(out, p);
  for (const auto& f : e.funcs) append_func(out, f);
  if (e.layout) append_layout(out, *e.layout);
  return out;
}

std::string render_executable(const report::Executable& e, Format format) {
  return format == Format::kJson ? render_executable_json(e) : render_executable_text(e);
}

}  // namespace ifx::formats
