// Turns a GoBinary into report data; lookups that fail on corrupt tables report their reason.
#include "core/analysis/executable_info.h"

namespace ifx {
namespace {

report::Module to_module(const std::string& path, const std::string& version,
                         const std::string& sum) {
  return {path, version, sum};
}

report::Dependency to_dependency(const ModuleDep& d) {
  report::Dependency out{to_module(d.path, d.version, d.sum), std::nullopt};
  if (d.replace) out.replace = to_module(d.replace->path, d.replace->version, d.replace->sum);
  return out;
}

}  // namespace

report::Executable describe_executable(const GoBinary& bin) {
  report::Executable e;
  const BuildInfo& bi = bin.build_info();
  e.path = bin.elf().name();
  e.go_version = bi.go_version;
  e.main_path = bi.path;
  if (bi.main) e.main_module = to_dependency(*bi.main);
  for (const auto& d : bi.deps) e.deps.push_back(to_dependency(d));
  for (const auto& s : bi.settings) e.settings.push_back({s.key, s.value});
  e.goos = bi.setting("GOOS");
  e.goarch = bi.setting("GOARCH");
  e.pie = bin.is_pie();
  e.dwarf = bin.has_dwarf();
  e.symbols = bin.elf().has_symtab();
  e.build_id = bin.elf().gnu_build_id();
  e.go_build_id = bin.elf().go_build_id();
  const Pclntab& tab = bin.pclntab();
  e.text_start = tab.text_start();
  e.text_end = tab.text_end();
  e.pclntab_version = tab.format_name();
  e.functions = tab.num_funcs();
  e.files = tab.num_files();
  return e;
}

report::PcLookup lookup_pc(const GoBinary& bin, uint64_t pc) {
  report::PcLookup out;
  out.pc = pc;
  try {
    auto f = bin.pclntab().find_func(pc);
    if (!f) {
      out.error = fmt::format("no function contains pc {:#x}", pc);
      return out;
    }
    out.function = bin.pclntab().func_name(*f);
    out.entry = f->entry;
    out.sp_delta = bin.pclntab().sp_delta(*f, pc);
    for (const auto& fr : bin.frames_at(pc)) {
      out.frames.push_back({std::string(fr.function), std::string(fr.file), fr.line, fr.inlined});
    }
  } catch (const Error& err) {
    out.frames.clear();
    out.error = err.what();
  }
  return out;
}

report::FuncLookup lookup_func(const GoBinary& bin, const std::string& name) {
  report::FuncLookup out;
  out.name = name;
  try {
    auto f = bin.pclntab().find_func_by_name(name);
    if (!f) {
      out.error = "no function named " + name;
      return out;
    }
    out.entry = f->entry;
    out.end = f->end;
    out.frame_size = bin.frame_size(*f);
    out.args = f->args;
    SourceRange range = bin.source_range(*f);
    out.file = range.file;
    out.start_line = range.start_line;
    out.end_line = range.end_line;
  } catch (const Error& err) {
    out.error = err.what();
  }
  return out;
}

report::RuntimeLayout describe_layout(const RuntimeModel& model) {
  report::RuntimeLayout out;
  out.source = model.layout.source;
  out.globals_source = model.globals.source;
  out.problems = model.problems;
  for (size_t i = 0; i < static_cast<size_t>(Fld::kCount); ++i) {
    auto f = model.layout.field(static_cast<Fld>(i));
    report::LayoutEntry e{std::string(field_name(static_cast<Fld>(i))), std::nullopt, std::nullopt};
    if (f) {
      e.offset = f->offset;
      e.size = f->size;
    }
    out.fields.push_back(e);
  }
  for (size_t i = 0; i < static_cast<size_t>(Typ::kCount); ++i) {
    out.sizes.push_back({std::string(type_name(static_cast<Typ>(i))),
                         model.layout.size(static_cast<Typ>(i)), std::nullopt});
  }
  for (size_t i = 0; i < static_cast<size_t>(Glob::kCount); ++i) {
    out.globals.push_back({std::string(global_name(static_cast<Glob>(i))),
                           model.globals.get(static_cast<Glob>(i)), std::nullopt});
  }
  return out;
}

}  // namespace ifx
