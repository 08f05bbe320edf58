// Goroutines as the runtime keeps them in allgs, copied in bulk while the target is stopped:
// the g structs first, then the used part of every stack.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/runtime/go_runtime.h"

namespace ifx {

class StackPrecopy;

// Runtime status values (runtime2.go); the scan bit is split off.
enum GoStatus : uint32_t {
  kGidle = 0,
  kGrunnable = 1,
  kGrunning = 2,
  kGsyscall = 3,
  kGwaiting = 4,
  kGdead = 6,
  kGcopystack = 8,
  kGpreempted = 9,
  kGleaked = 10,
  kGdeadextra = 11,
};

inline constexpr uint32_t kGscanBit = 0x1000;

// The runtime's own name of a status (gStatusStrings), "???" for values it does not know.
const char* status_string(uint32_t status);

struct Goroutine {
  RemoteAddr g;
  uint64_t goid = 0;
  uint32_t status = 0;
  bool scan = false;
  uint8_t wait_reason = 0;
  int64_t wait_since = 0;  // nanotime, 0 when unknown
  uint64_t m = 0;
  uint64_t locked_m = 0;
  uint64_t gopc = 0;
  uint64_t startpc = 0;
  uint64_t parent_goid = 0;
  uint64_t stack_lo = 0, stack_hi = 0;
  uint64_t sched_sp = 0, sched_pc = 0;
  uint64_t syscall_sp = 0, syscall_pc = 0;
  uint64_t labels = 0;
  uint64_t waiting = 0;    // *sudog
  std::string unreadable;  // why this g could not be read; the rest of its fields are zero
};

struct GoroutineLimits {
  uint64_t max_goroutines = 10'000'000;
  uint64_t max_stack_bytes = 64 << 20;  // per goroutine, read from sp up to stack.hi
};

// Reads every goroutine in allgs (dead ones included) and prefetches their used stacks, in a few
// batched reads. Problems that affect all goroutines are appended to `problems`. A stack that
// `precopy` proves unchanged is kept from it rather than copied again.
// `deferred`, when given: a goroutine parked with sudogs on g.waiting may have had a value
// written into its stack by a sender or closer of the channel before the stop, without having
// run (StackPrecopy's proof does not cover that). Such goroutines' pre-copied stacks are
// neither kept nor copied here; they go to `deferred` for settle_deferred_stacks, once the
// sudogs and channels can be read.
struct DeferredStack {
  size_t goroutine = 0;  // index into read_goroutines' result
  AdoptedRange stack;    // the pre-copied used stack
};
std::vector<Goroutine> read_goroutines(GoRuntime& rt, const GoroutineLimits& limits,
                                       std::vector<std::string>& problems,
                                       const StackPrecopy* precopy = nullptr,
                                       std::vector<DeferredStack>* deferred = nullptr);
// Still in the stop: keeps the pre-copied stack of each deferred goroutine that `undisturbed`
// (given its index) vouches for (see blocking.h queued_undisturbed), copies the others' now.
void settle_deferred_stacks(GoRuntime& rt, std::span<const DeferredStack> deferred,
                            const StackPrecopy& precopy,
                            const std::function<bool(size_t goroutine)>& undisturbed,
                            std::vector<std::string>& problems);

// An estimate of the bytes read_goroutines will copy (g structs and used stacks), read without
// stopping the process (racy: good enough to size a buffer faulted in before the stop).
// 0 when the goroutine list cannot be read.
uint64_t estimate_goroutine_bytes(GoRuntime& rt, const GoroutineLimits& limits);

// The runtime's own wait reason strings (runtime.waitReasonStrings), read from the executable.
std::vector<std::string> read_wait_reasons(GoRuntime& rt);

}  // namespace ifx
