// Target opening shared by the subcommands that read a process or core.
#include "cmd/session.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include "core/target/live_target.h"
#include "core/util/phases.h"

namespace ifx::cmd {

namespace {

// The estimate runs on the process unstopped (racy reads, nothing kept); a failure only means
// no reserve.
uint64_t estimate_reserve(int pid, const Session& s, const ReserveEstimate& estimate) {
  try {
    TargetOptions racy;
    racy.no_stop = true;
    auto target = open_live(pid, racy);
    GoRuntime rt(*s.binary, *s.model, *target);
    uint64_t bytes = estimate(rt);
    precopy_test_delay();
    return bytes;
  } catch (const Error&) {
    return 0;
  }
}

}  // namespace

Session open_session(const std::string& spec, TargetKind kind, const TargetOptions& opts,
                     const ReserveEstimate& estimate) {
  Session s;
  s.start = std::chrono::steady_clock::now();
  phases().clear();  // --stats: the phases of this session's stop (--watch opens several)
  if (kind == TargetKind::kPid) {
    int pid = std::stoi(spec);
    check_live_target(pid, !opts.no_stop);  // zombies, permissions, tracers: named before reading
    s.binary = GoBinary::open(fmt::format("/proc/{}/exe", pid));
    s.model = std::make_unique<RuntimeModel>(load_runtime_model(*s.binary));
    TargetOptions live = opts;
    if (estimate && !opts.no_stop) live.snapshot_reserve = estimate_reserve(pid, s, estimate);
    s.target = open_live(pid, live);
  } else {
    s.target = open_core(spec, opts);
    s.binary = GoBinary::open(s.target->exe_path());
    s.model = std::make_unique<RuntimeModel>(load_runtime_model(*s.binary));
  }
  s.runtime = std::make_unique<GoRuntime>(*s.binary, *s.model, *s.target);
  return s;
}

void print_stats(const Session& s) {
  TargetStats st = s.target->stats();
  double total =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s.start).count();
  fmt::print(stderr,
             "ifxray: stats pause_ms={:.3f} total_ms={:.3f} bytes_read={} reads={} "
             "pause_cpu_ms={:.3f} late_bytes={} reserve_bytes={} reserve_used={} "
             "unreserved_bytes={}\n",
             st.pause_ms, total, st.bytes_read, st.reads, st.pause_cpu_ms, st.late_bytes,
             st.reserve_bytes, st.reserve_used, st.unreserved_bytes);
  if (!phases().empty()) {
    std::string line = "ifxray: stats";
    for (const auto& [name, ms] : phases()) line += fmt::format(" {}_ms={:.3f}", name, ms);
    fmt::print(stderr, "{}\n", line);
  }
}

void print_precopy_stats(const StackPrecopy& precopy, double ms) {
  fmt::print(stderr,
             "ifxray: stats precopy_ms={:.3f} precopy_stacks={} precopy_bytes={} "
             "precopy_kept={}\n",
             ms, precopy.stacks(), precopy.stack_bytes(), precopy.kept());
}

void add_target_options(CLI::App& sub, TargetOptions& opts) {
  sub.add_option("--exe", opts.exe, "The executable of a core, when not where the core says");
  sub.add_flag("--force", opts.force, "Read a core even if its executable's build id differs");
  sub.add_flag("--no-stop", opts.no_stop, "Read a live process without stopping it (racy)");
}

}  // namespace ifx::cmd
