// `ifxray info EXE|PID|CORE`: what a Go executable is, and for a process or core also its
// threads, mappings and runtime figures.
#include <CLI/CLI.hpp>

#include <memory>

#include "cmd/commands.h"
#include "cmd/session.h"
#include "core/analysis/executable_info.h"
#include "core/analysis/heap_info.h"
#include "core/analysis/target_info.h"
#include "core/binary/go_binary.h"
#include "core/target/open_target.h"
#include "formats/executable.h"
#include "formats/target.h"

namespace ifx::cmd {
namespace {

struct InfoOptions {
  std::string target;
  std::string format = "text";
  std::vector<std::string> pcs;
  std::vector<std::string> funcs;
  TargetOptions target_opts;
  bool stats = false;
  bool layout = false;
  bool heap = false;
  std::vector<std::string> heap_objects;
};

void add_lookups(const GoBinary& bin, const InfoOptions& opts, report::Executable& report) {
  for (const auto& p : opts.pcs) report.pcs.push_back(lookup_pc(bin, parse_address(p, "--pc")));
  for (const auto& name : opts.funcs) report.funcs.push_back(lookup_func(bin, name));
}

ExitCode run_on_executable(const InfoOptions& opts, formats::Format format) {
  auto bin = GoBinary::open(opts.target);
  report::Executable report = describe_executable(*bin);
  add_lookups(*bin, opts, report);
  if (opts.layout) report.layout = describe_layout(load_runtime_model(*bin));
  formats::emit(formats::render_executable(report, format));
  return ExitCode::kOk;
}

ExitCode run_on_target(const InfoOptions& opts, TargetKind kind, formats::Format format) {
  Session s = open_session(opts.target, kind, opts.target_opts);
  RuntimeReading reading = read_runtime(*s.runtime);
  std::vector<Goroutine> goroutines;
  std::optional<HeapCapture> capture;
  if (opts.heap) {
    std::vector<std::string> problems;
    goroutines = read_goroutines(*s.runtime, GoroutineLimits{}, problems);
    capture = capture_heap(*s.runtime, HeapOptions{}, goroutines);
    capture->problems.insert(capture->problems.end(), problems.begin(), problems.end());
  }
  s.target->release();
  report::TargetInfo info = describe_target(*s.runtime, std::move(reading));
  if (capture) {
    std::vector<uint64_t> queries;
    for (const auto& a : opts.heap_objects) queries.push_back(parse_address(a, "--heap-object"));
    HeapIndex heap(*s.runtime, std::move(*capture));
    info.heap_model = describe_heap(*s.runtime, heap, goroutines, queries);
  }
  add_lookups(*s.binary, opts, info.exe);
  formats::emit(formats::render_target(info, format));
  if (opts.stats) print_stats(s);
  return ExitCode::kOk;
}

ExitCode run_info(const InfoOptions& opts) {
  auto format = formats::parse_format(opts.format);
  for (const auto& p : opts.pcs) parse_address(p, "--pc");  // usage errors before any work
  for (const auto& a : opts.heap_objects) parse_address(a, "--heap-object");
  TargetKind kind = classify_target(opts.target);
  if (kind == TargetKind::kExecutable) return run_on_executable(opts, *format);
  return run_on_target(opts, kind, *format);
}

}  // namespace

void register_info(CLI::App& app, Action& action) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* sub = app.add_subcommand(
      "info", "What a Go executable, process or core is: build info, layout, threads, runtime");
  sub->add_option("--format", opts->format, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  sub->add_option("--pc", opts->pcs, "Resolve this pc (0x... or decimal) to its frames; repeatable")
      ->allow_extra_args(false);
  sub->add_option("--func", opts->funcs, "Describe the function of this name; repeatable")
      ->allow_extra_args(false);
  add_target_options(*sub, opts->target_opts);
  sub->add_flag("--stats", opts->stats, "Print pause and read statistics to stderr");
  sub->add_flag("--layout", opts->layout,
                "Show the runtime struct layouts and globals ifxray uses for this executable");
  sub->add_flag("--heap", opts->heap,
                "Read the heap model (spans, objects, pointers, roots) and print its figures");
  // For tests: the object at each address, its pointer words and the roots reaching it.
  sub->add_option("--heap-object", opts->heap_objects, "")->group("")->allow_extra_args(false);
  sub->add_option("target", opts->target, "A Go executable, a pid, or a core file")->required();
  sub->callback([opts, &action] { action = [opts] { return run_info(*opts); }; });
}

}  // namespace ifx::cmd
