// `ifxray frames PID|CORE`: every goroutine and its stack, as the Go runtime would print it.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <map>
#include <regex>

#include "cmd/commands.h"
#include "cmd/session.h"
#include "core/analysis/goroutine_frames.h"
#include "core/analysis/native_frames.h"
#include "core/analysis/value_capture.h"
#include "core/analysis/variables.h"
#include "core/runtime/stack_precopy.h"
#include "formats/format.h"
#include "formats/goroutines.h"

namespace ifx::cmd {
namespace {

struct FramesCmdOptions {
  std::string target;
  std::string format = "text";
  bool no_group = false;
  bool system = false;
  bool stats = false;
  bool native = false;
  NativeOptions native_opts;
  bool locals = false;
  bool no_precopy = false;
  ValueLimits value_limits;
  std::vector<std::string> states;
  std::vector<std::string> wait_reasons;
  std::string func_regex;
  std::string min_wait;  // a duration: "90s", "1h30m", or bare minutes
  int64_t min_wait_ns = 0;
  std::vector<uint64_t> ids;
  FramesOptions frames;
  TargetOptions target_opts;
};

// A Go-style duration ("300ms", "1.5h", "2h45m") or a bare number of minutes, in nanoseconds.
int64_t parse_min_wait(const std::string& s) {
  static const std::regex kPart(R"(([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h))");
  auto bad = [&s] {
    return Error(fmt::format("--min-wait: bad duration '{}' (say 90s, 5m or 1h30m)", s),
                 ExitCode::kUsage);
  };
  double minutes = 0;
  if (std::regex_match(s, std::regex(R"([0-9]*\.?[0-9]+)"))) {
    minutes = std::stod(s);
  } else {
    std::string rest = s;
    std::smatch m;
    if (rest.empty()) throw bad();
    while (!rest.empty()) {
      if (!std::regex_search(rest, m, kPart) || m.position(0) != 0) throw bad();
      static const std::map<std::string, double> kMinutes = {
          {"ns", 1e-9 / 60}, {"us", 1e-6 / 60}, {"µs", 1e-6 / 60}, {"ms", 1e-3 / 60},
          {"s", 1.0 / 60},   {"m", 1.0},        {"h", 60.0}};
      minutes += std::stod(m.str(1)) * kMinutes.at(m.str(2));
      rest = m.suffix();
    }
  }
  if (minutes > 1e9) throw bad();
  return static_cast<int64_t>(minutes * 60e9);
}

bool keep(const report::Goroutine& g, const FramesCmdOptions& o, const std::regex* func) {
  if (g.system && !o.system) return false;
  auto in = [](const std::vector<std::string>& set, const std::string& v) {
    return set.empty() || std::find(set.begin(), set.end(), v) != set.end();
  };
  if (!in(o.states, g.status) || !in(o.wait_reasons, g.wait_reason)) return false;
  if (!o.ids.empty() && std::find(o.ids.begin(), o.ids.end(), g.goid) == o.ids.end()) return false;
  if (o.min_wait_ns > 0 && (!g.wait_ns || *g.wait_ns < o.min_wait_ns)) return false;
  if (func != nullptr) {
    bool any = false;
    for (const auto& f : g.frames) any = any || std::regex_search(f.function, *func);
    if (!any) return false;
  }
  return true;
}

// pprof: the executable's code mappings, and when a live target's goroutines were read.
void profile_context(const Session& s, formats::FramesStyle& style) {
  for (const auto& m : s.target->mappings()) {
    if (m.perms.find('x') == std::string::npos || m.path != s.target->exe_path()) continue;
    style.mappings.push_back(
        {m.start.value(), m.end.value(), m.offset, m.path, s.binary->elf().gnu_build_id()});
  }
  if (s.target->is_live()) {
    style.time_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  }
}

ExitCode run_frames(const FramesCmdOptions& o) {
  std::optional<std::regex> func;
  if (!o.func_regex.empty()) {
    try {
      func.emplace(o.func_regex);
    } catch (const std::regex_error& e) {
      throw Error(fmt::format("--func: bad regular expression: {}", e.what()), ExitCode::kUsage);
    }
  }
  FramesCmdOptions opts = o;
  if (!o.min_wait.empty()) opts.min_wait_ns = parse_min_wait(o.min_wait);
  TargetKind kind = classify_target(o.target);
  if (kind == TargetKind::kExecutable) {
    throw Error(fmt::format("{} is an executable: frames needs a pid or a core file", o.target),
                ExitCode::kUsage);
  }
  if (o.format == "pprof" && ::isatty(STDOUT_FILENO) == 1) {
    throw Error("--format pprof writes a gzipped protobuf: redirect stdout to a file",
                ExitCode::kUsage);
  }
  // Stacks copied before the stop serve unwinding; --locals reads values, which a channel send
  // may still change in a parked goroutine's stack (see StackPrecopy), so it copies in the stop.
  std::optional<StackPrecopy> precopy;
  double precopy_ms = 0;
  Session s = open_session(o.target, kind, o.target_opts, [&](GoRuntime& rt) {
    if (o.locals || o.no_precopy) return estimate_snapshot_bytes(rt, o.frames);
    auto t0 = std::chrono::steady_clock::now();
    precopy = StackPrecopy::copy(rt, o.frames.limits);
    precopy_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return estimate_snapshot_bytes(*precopy);
  });
  GoroutineSnapshot snap = snapshot_goroutines(*s.runtime, o.frames, precopy ? &*precopy : nullptr);
  if (o.native) capture_native_memory(*s.runtime, snap, o.native_opts);
  formats::FramesStyle style;
  style.group = !o.no_group;
  profile_context(s, style);
  report::Goroutines report;
  if (o.locals) {
    // Values live in the heap: copy it in the stop, walk it after.
    std::vector<std::string> capture_problems = capture_for_values(*s.runtime, snap);
    s.target->release_with_late_reads();
    report = build_goroutines(*s.runtime, snap, o.frames);
    VariableSession vars(*s.runtime, o.value_limits);
    add_frame_locals(vars, report);
    for (auto& p : capture_problems) report.warnings.push_back(std::move(p));
    style.group = false;
  } else {
    s.target->release();
    report = build_goroutines(*s.runtime, snap, o.frames);
  }
  if (o.native) add_native_frames(*s.runtime, snap, o.native_opts, report);
  for (const auto& w : s.target->warnings()) report.warnings.push_back(w);
  for (const auto& p : s.runtime->problems()) report.warnings.push_back(p);
  std::erase_if(report.goroutines, [&](const report::Goroutine& g) {
    return !keep(g, opts, func ? &*func : nullptr);
  });
  report.include_system = o.system;
  formats::FramesFormat format = o.format == "go"       ? formats::FramesFormat::kGo
                                 : o.format == "json"   ? formats::FramesFormat::kJson
                                 : o.format == "pprof"  ? formats::FramesFormat::kPprof
                                 : o.format == "folded" ? formats::FramesFormat::kFolded
                                                        : formats::FramesFormat::kText;
  formats::emit(formats::render_goroutines(report, format, style));
  for (const auto& w : report.warnings) fmt::print(stderr, "ifxray: warning: {}\n", w);
  if (o.stats) {
    print_stats(s);
    if (precopy) print_precopy_stats(*precopy, precopy_ms);
  }
  // The target is released already. Freeing a snapshot of 100k stacks and 100k reports piece by
  // piece costs more than everything else the exit does, so the process exit frees them.
  new Session(std::move(s));                  // NOLINT: deliberate leak at exit
  new report::Goroutines(std::move(report));  // NOLINT: deliberate leak at exit
  return ExitCode::kOk;
}

}  // namespace

void register_frames(CLI::App& app, Action& action) {
  auto o = std::make_shared<FramesCmdOptions>();
  CLI::App* sub = app.add_subcommand("frames",
                                     "Every goroutine and its stack, as the Go runtime "
                                     "would print it");
  sub->add_option("--format", o->format,
                  "text (grouped), go (the runtime's traceback), json, pprof (a gzipped "
                  "goroutine profile), folded (stacks for flame graphs)")
      ->check(CLI::IsMember({"text", "go", "json", "pprof", "folded"}));
  sub->add_flag("--no-group", o->no_group, "text: one entry per goroutine");
  sub->add_flag("--system", o->system, "Include the runtime's own goroutines");
  sub->add_option("--state", o->states, "Only goroutines in this status (waiting, runnable, ...)");
  sub->add_option("--wait-reason", o->wait_reasons, "Only goroutines waiting for this reason");
  sub->add_option("--func", o->func_regex, "Only goroutines with a frame matching this regex");
  sub->add_option("--min-wait", o->min_wait,
                  "Only goroutines waiting at least this long (90s, 5m, 1h30m; a bare number "
                  "is minutes)");
  sub->add_option("--goroutine", o->ids, "Only the goroutine with this id; repeatable");
  sub->add_option("--max-frames", o->frames.max_frames, "Frames per goroutine (default 10000)");
  sub->add_option("--max-goroutines", o->frames.limits.max_goroutines,
                  "Goroutines read at most (default 10000000)");
  sub->add_option("--disasm", o->frames.disasm_window,
                  "Show N instructions before and after each goroutine's pc (text, json)")
      ->expected(0, 1)
      ->default_str("4");
  sub->add_flag("--native", o->native,
                "Also the C frames of goroutines in cgo calls, and threads running C code "
                "(libunwind)");
  sub->add_option("--max-native-frames", o->native_opts.max_frames,
                  "Native frames per thread with --native (default 256)");
  sub->add_flag("--no-precopy", o->no_precopy,
                "Copy every stack while the process is stopped, none before (a longer pause)");
  sub->add_flag("--locals", o->locals,
                "Arguments and local variables of every frame, from DWARF (text, json)");
  sub->add_option("--max-depth", o->value_limits.max_depth,
                  "--locals: nesting shown in values (default 2)");
  sub->add_option("--max-elements", o->value_limits.max_elements,
                  "--locals: elements, fields and map entries shown per value (default 8)");
  sub->add_option("--max-string", o->value_limits.max_string,
                  "--locals: string bytes shown (default 64)");
  sub->add_flag("--stats", o->stats, "Print pause and read statistics to stderr");
  add_target_options(*sub, o->target_opts);
  sub->add_option("target", o->target, "A pid or a core file")->required();
  sub->callback([o, &action] { action = [o] { return run_frames(*o); }; });
}

}  // namespace ifx::cmd
