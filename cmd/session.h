// Opening a live process or core for a subcommand: the executable and its runtime model are
// loaded before a live process is stopped, so the pause covers only the copy of its memory.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/runtime/go_runtime.h"
#include "core/runtime/stack_precopy.h"
#include "core/target/open_target.h"

namespace CLI {
class App;
}

namespace ifx::cmd {

struct Session {
  std::unique_ptr<GoBinary> binary;
  std::unique_ptr<RuntimeModel> model;
  std::unique_ptr<Target> target;
  std::unique_ptr<GoRuntime> runtime;
  std::chrono::steady_clock::time_point start;
};

// What the analysis will copy from a live target, estimated on the running process before it is
// stopped (see TargetOptions::snapshot_reserve).
using ReserveEstimate = std::function<uint64_t(GoRuntime&)>;

// For a pid or a core (classify_target decides); the live target is stopped on return.
Session open_session(const std::string& spec, TargetKind kind, const TargetOptions& opts,
                     const ReserveEstimate& estimate = {});
// The --stats line on stderr.
void print_stats(const Session& s);
// The --stats line of a stack pre-copy (StackPrecopy) that took `ms` before the stop.
void print_precopy_stats(const StackPrecopy& precopy, double ms);
// --exe, --force, --no-stop on a subcommand.
void add_target_options(CLI::App& sub, TargetOptions& opts);

}  // namespace ifx::cmd
