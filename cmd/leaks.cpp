// `ifxray leaks PID|CORE`: goroutines that can never run again, proven from the heap, and the
// ones that look stuck on something still referenced, with the reference path.
#include <CLI/CLI.hpp>

#include <chrono>
#include <thread>

#include "cmd/commands.h"
#include "cmd/session.h"
#include "core/analysis/leaks.h"
#include "core/runtime/stack_precopy.h"
#include "formats/format.h"
#include "formats/leaks.h"

namespace ifx::cmd {
namespace {

struct LeaksCmdOptions {
  std::string target;
  std::string format = "text";
  std::string fail_on = "proven";
  std::string watch;  // interval, e.g. "30s", "1m"
  size_t samples = 3;
  bool stats = false;
  bool no_preread = false;
  bool no_precopy = false;
  LeaksOptions leaks;
  TargetOptions target_opts;
};

double parse_interval(const std::string& s) {
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(s, &pos);
  } catch (const std::exception&) {
    throw Error(fmt::format("--watch: bad interval {:?}", s), ExitCode::kUsage);
  }
  std::string unit = s.substr(pos);
  double mult = unit.empty() || unit == "s" ? 1 : unit == "ms" ? 0.001 : unit == "m" ? 60 : -1;
  if (mult < 0 || v <= 0) {
    throw Error(fmt::format("--watch: bad interval {:?} (use 500ms, 10s, 1m)", s),
                ExitCode::kUsage);
  }
  return v * mult;
}

// `at`, when given, receives when the goroutines were read (the target is stopped then).
report::Leaks one_run(const LeaksCmdOptions& o, TargetKind kind, bool stats,
                      std::chrono::steady_clock::time_point* at = nullptr) {
  // The stacks and the heap are copied in the stop into a buffer faulted in before it; parked
  // goroutines' stacks are copied before it (StackPrecopy), and the heap's span metadata read
  // for the estimate serves the stop too (SpanPreread).
  std::shared_ptr<SpanPreread> spans;
  std::optional<StackPrecopy> precopy;
  double precopy_ms = 0;
  Session s = open_session(o.target, kind, o.target_opts, [&](GoRuntime& rt) {
    if (!o.no_precopy) {
      auto t0 = std::chrono::steady_clock::now();
      precopy = StackPrecopy::copy(rt, o.leaks.frames.limits);
      precopy_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
    return estimate_leaks_snapshot_bytes(rt, o.leaks, o.no_preread ? nullptr : &spans,
                                         precopy ? &*precopy : nullptr);
  });
  if (at != nullptr) *at = std::chrono::steady_clock::now();
  LeaksSnapshot snap =
      snapshot_leaks(*s.runtime, o.leaks, spans.get(), precopy ? &*precopy : nullptr);
  s.target->release();
  finish_leaks_snapshot(*s.runtime, snap, o.leaks);
  s.target->allow_late_reads();  // type descriptors and GC masks, immutable once written
  report::Leaks report = build_leaks(*s.runtime, snap, o.leaks);
  for (const auto& w : s.target->warnings()) report.warnings.push_back(w);
  for (const auto& p : s.runtime->problems()) report.warnings.push_back(p);
  if (stats) {
    print_stats(s);
    if (precopy) print_precopy_stats(*precopy, precopy_ms);
    fmt::print(stderr,
               "ifxray: stats heap_capture_ms={:.3f} heap_copy_ms={:.3f} heap_copy_bytes={} "
               "proof_ms={:.3f} spans_reused={} spans_decoded={}\n",
               snap.heap_figures.ms, snap.heap_figures.copy_ms, snap.heap_figures.copy_bytes,
               snap.proof_ms, snap.heap_figures.spans_reused, snap.heap_figures.spans_decoded);
  }
  return report;
}

// --watch: the same groups across samples, growth per minute from first to last, over the time
// that really passed between the first and the last sample (each sample takes time too).
void add_growth(report::Leaks& last, const std::vector<report::Leaks>& samples, double seconds) {
  std::map<std::string, std::vector<uint64_t>> counts;
  for (size_t i = 0; i < samples.size(); ++i) {
    for (const auto& g : samples[i].groups) {
      auto& c = counts[group_key(g)];
      c.resize(samples.size());
      c[i] += g.goroutines.size();
    }
  }
  double minutes = seconds / 60;
  for (auto& [key, c] : counts) {
    c.resize(samples.size());
    if (c.back() <= c.front()) continue;
    last.growth.push_back(
        {key, c, static_cast<double>(c.back() - c.front()) / std::max(minutes, 1e-9), seconds});
  }
  std::sort(last.growth.begin(), last.growth.end(),
            [](const auto& a, const auto& b) { return a.per_minute > b.per_minute; });
}

ExitCode run_leaks(const LeaksCmdOptions& o) {
  TargetKind kind = classify_target(o.target);
  if (kind == TargetKind::kExecutable) {
    throw Error(fmt::format("{} is an executable: leaks needs a pid or a core file", o.target),
                ExitCode::kUsage);
  }
  report::Leaks report;
  if (!o.watch.empty()) {
    if (kind != TargetKind::kPid) throw Error("--watch needs a live pid", ExitCode::kUsage);
    if (o.samples < 2) throw Error("--samples: at least 2", ExitCode::kUsage);
    double interval = parse_interval(o.watch);
    std::vector<report::Leaks> samples;
    std::chrono::steady_clock::time_point first, at;
    for (size_t i = 0; i < o.samples; ++i) {
      if (i > 0) std::this_thread::sleep_for(std::chrono::duration<double>(interval));
      samples.push_back(one_run(o, kind, o.stats, &at));
      if (i == 0) first = at;
    }
    report = samples.back();
    add_growth(report, samples, std::chrono::duration<double>(at - first).count());
  } else {
    report = one_run(o, kind, o.stats);
  }
  std::string doc = o.format == "json"  ? formats::render_leaks_json(report)
                    : o.format == "dot" ? formats::render_leaks_dot(report)
                                        : formats::render_leaks_text(report);
  formats::emit(doc);
  if (o.format != "json") {
    for (const auto& w : report.warnings) fmt::print(stderr, "ifxray: warning: {}\n", w);
  }
  bool fail = (o.fail_on == "proven" && report.proven > 0) ||
              (o.fail_on == "suspect" && report.proven + report.suspect > 0);
  return fail ? ExitCode::kFindings : ExitCode::kOk;
}

}  // namespace

void register_leaks(CLI::App& app, Action& action) {
  auto o = std::make_shared<LeaksCmdOptions>();
  CLI::App* sub = app.add_subcommand(
      "leaks", "Leaked goroutines, proven from the heap, and suspects with their leak paths");
  sub->add_option("--format", o->format, "text, json (the leaks contract) or dot (Graphviz)")
      ->check(CLI::IsMember({"text", "json", "dot"}));
  sub->add_option("--min-wait", o->leaks.min_wait_minutes,
                  "Suspects: blocked at least this many minutes (default 1)");
  sub->add_option("--min-group", o->leaks.min_group,
                  "Suspects: or in a group of at least this many goroutines (default 100)");
  sub->add_option("--fail-on", o->fail_on,
                  "Exit 1 on a proven leak (proven, the default), on a suspect too (suspect), or "
                  "never")
      ->check(CLI::IsMember({"proven", "suspect", "never"}));
  sub->add_option("--watch", o->watch,
                  "Live pid: sample every INTERVAL (500ms, 10s, 1m) and report growing groups");
  sub->add_option("--samples", o->samples, "With --watch: how many samples (default 3)");
  sub->add_flag(
      "--no-proof", [o](int64_t) { o->leaks.prove = false; },
      "Do not copy the heap: only nil channels and select {} are proven");
  sub->add_flag("--no-precopy", o->no_precopy,
                "Copy every stack while the process is stopped, none before (a longer pause)");
  sub->add_flag("--no-preread", o->no_preread,
                "Read the heap's span metadata in the stop only, not also before it (a longer "
                "pause)");
  sub->add_option("--max-goroutines", o->leaks.frames.limits.max_goroutines,
                  "Goroutines read at most (default 10000000)");
  sub->add_flag("--stats", o->stats, "Print pause and read statistics to stderr");
  add_target_options(*sub, o->target_opts);
  sub->add_option("target", o->target, "A pid or a core file")->required();
  sub->callback([o, &action] { action = [o] { return run_leaks(*o); }; });
}

}  // namespace ifx::cmd
