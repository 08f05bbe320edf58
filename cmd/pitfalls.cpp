// `ifxray pitfalls PID|CORE`: typed-nil interfaces in globals, frames and what they reach.
#include <CLI/CLI.hpp>

#include <chrono>

#include "cmd/commands.h"
#include "cmd/session.h"
#include "core/analysis/goroutine_frames.h"
#include "core/analysis/pitfalls.h"
#include "core/analysis/value_capture.h"
#include "formats/pitfalls.h"

namespace ifx::cmd {
namespace {

struct PitfallsCmdOptions {
  std::string target;
  std::string format = "text";
  bool stats = false;
  PitfallOptions pitfalls;
  FramesOptions frames;
  TargetOptions target_opts;
};

ExitCode run_pitfalls(const PitfallsCmdOptions& o) {
  TargetKind kind = classify_target(o.target);
  if (kind == TargetKind::kExecutable) {
    throw Error(fmt::format("{} is an executable: pitfalls needs a pid or a core file", o.target),
                ExitCode::kUsage);
  }
  Session s = open_session(o.target, kind, o.target_opts);
  // Goroutines, stacks, the heap and data/bss are copied in the stop; the walk runs after it.
  GoroutineSnapshot snap = snapshot_goroutines(*s.runtime, o.frames);
  HeapCapture heap_capture;
  std::vector<std::string> capture_problems = capture_for_values(*s.runtime, snap, &heap_capture);
  s.target->release_with_late_reads();
  report::Goroutines gs = build_goroutines(*s.runtime, snap, o.frames);
  VariableSession vars(*s.runtime, ValueLimits{});
  // Without DWARF the typed heap objects are the roots (their spans were read in the stop).
  double heap_copy_ms = heap_capture.capture_ms;
  std::unique_ptr<HeapIndex> heap;
  std::unique_ptr<BlockingSnapshot> blocking;
  if (!vars.no_dwarf().empty()) {
    heap = std::make_unique<HeapIndex>(*s.runtime, std::move(heap_capture));
    // Sudogs and channels are heap objects, g structs and the semaphore table copied data: read
    // from the snapshot, after the stop.
    blocking = std::make_unique<BlockingSnapshot>();
    blocking->channels = read_waited_channels(*s.runtime, snap.goroutines, BlockingLimits{});
  }
  auto walk_start = std::chrono::steady_clock::now();
  report::Pitfalls report = find_pitfalls(vars, gs, o.pitfalls, heap.get(), blocking.get());
  double walk_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - walk_start)
          .count();
  for (auto& p : capture_problems) report.warnings.push_back(std::move(p));
  for (const auto& w : s.target->warnings()) report.warnings.push_back(w);
  for (const auto& p : s.runtime->problems()) report.warnings.push_back(p);
  formats::emit(formats::render_pitfalls(
      report, o.format == "json" ? formats::Format::kJson : formats::Format::kText));
  if (o.format == "json") {
    for (const auto& w : report.warnings) fmt::print(stderr, "ifxray: warning: {}\n", w);
  }
  if (o.stats) {
    print_stats(s);
    // The heap copy is part of the pause; the walk runs after the target is resumed.
    fmt::print(stderr, "ifxray: stats heap_copy_ms={:.3f} walk_ms={:.3f} values_visited={}\n",
               heap_copy_ms, walk_ms, report.values_visited);
  }
  new Session(std::move(s));  // NOLINT: deliberate leak at exit (see frames)
  return report.pitfalls.empty() ? ExitCode::kOk : ExitCode::kFindings;
}

}  // namespace

void register_pitfalls(CLI::App& app, Action& action) {
  auto o = std::make_shared<PitfallsCmdOptions>();
  CLI::App* sub = app.add_subcommand(
      "pitfalls",
      "Typed-nil interfaces: non-nil interfaces holding a nil pointer, map, chan or func");
  sub->add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  sub->add_option("--max-depth", o->pitfalls.max_depth,
                  "Pointers, fields and elements followed from each variable (default 6)");
  sub->add_option("--max-elements", o->pitfalls.max_elements,
                  "Elements examined per slice, array or map (default 4096)");
  sub->add_option("--max-values", o->pitfalls.max_values,
                  "Values examined in all (default 5000000)");
  sub->add_flag("--runtime-globals", o->pitfalls.runtime_globals,
                "Also examine the runtime's own package-level variables");
  sub->add_flag("--stats", o->stats, "Print pause and read statistics to stderr");
  add_target_options(*sub, o->target_opts);
  sub->add_option("target", o->target, "A pid or a core file")->required();
  sub->callback([o, &action] { action = [o] { return run_pitfalls(*o); }; });
}

}  // namespace ifx::cmd
