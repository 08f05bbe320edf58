// `frames`: goroutines and their stacks. Phase one runs while a live target is stopped (copy the
// goroutines and their stacks); phase two runs after it resumes (unwind and symbolise the copy).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/report/goroutines.h"
#include "core/runtime/goroutine_labels.h"
#include "core/runtime/goroutines.h"
#include "core/runtime/stack_precopy.h"
#include "core/stack/unwind.h"

namespace ifx {

struct GoroutineSnapshot {
  std::vector<Goroutine> goroutines;
  std::vector<std::string> wait_reasons;
  std::map<uint64_t, int> tid_by_m;              // m address -> thread id (m.procid)
  std::map<uint64_t, ThreadOffStack> off_stack;  // by m address, for Ms running a goroutine
  std::optional<int64_t> now_ns;                 // the target's nanotime clock, when known
  bool now_estimated = false;  // now_ns is a lower bound taken from runtime state (cores)
  std::unordered_map<uint64_t, GoroutineLabels> labels;  // by g.labels
  std::vector<std::string> problems;
};

struct FramesOptions {
  GoroutineLimits limits;
  size_t max_frames = 10000;  // per goroutine
  size_t disasm_window = 0;   // instructions before and after each goroutine's pc (--disasm)
};

// What snapshot_goroutines will copy, estimated on the running process before it is stopped.
uint64_t estimate_snapshot_bytes(GoRuntime& rt, const FramesOptions& opts);
// The same, when the stacks were pre-copied: only what the stop will still copy.
uint64_t estimate_snapshot_bytes(const StackPrecopy& precopy);
// In the stop; `precopy` (taken before it, see StackPrecopy) spares copying unchanged stacks.
// `deferred`: see read_goroutines (for callers that read values from stacks).
GoroutineSnapshot snapshot_goroutines(GoRuntime& rt, const FramesOptions& opts,
                                      const StackPrecopy* precopy = nullptr,
                                      std::vector<DeferredStack>* deferred = nullptr);
report::Goroutines build_goroutines(GoRuntime& rt, const GoroutineSnapshot& snap,
                                    const FramesOptions& opts);

}  // namespace ifx
