// Goroutine stacks copied while the process still runs, so that the stop copies only what may
// have changed. A parked goroutine's stack changes only when it runs again or when the GC moves
// it; the runtime records both in the g struct, which the stop copies anyway:
//   - execute() sets g.waitsince to 0 each time the goroutine is scheduled, and only the GC's
//     stack scan sets it again, to the start time of its cycle, at most once per cycle. A
//     waitsince that was nonzero before the copy and is the same at the stop proves that the
//     goroutine has not run in between (1.19 to 1.27 alike).
//   - a moved stack has new bounds and a new sched.sp.
// So a copy is trusted when the goroutine was parked (_Gwaiting, no scan bit) with a nonzero
// waitsince both times, and its goid, wait reason, stack bounds, sched.sp and sched.pc are
// unchanged. Goroutines parked since the last GC are copied in the stop as before.
// What the proof does not cover: another goroutine may write into a parked one's stack (a
// channel send delivers straight into the receiver's variable) before it wakes it. That changes
// a value, never a frame or a return address: the pre-copy serves unwinding only, not values.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/runtime/goroutines.h"

namespace ifx {

class StackPrecopy {
 public:
  // Reads allgs, the g structs and the stacks of the goroutines it can trust later, from a
  // process that is not stopped (racy reads: what it gets wrong, the stop's check rejects).
  static StackPrecopy copy(GoRuntime& running, const GoroutineLimits& limits);

  // The bytes copied of g's used stack `used`, when g as read in the stop proves them unchanged;
  // nullptr otherwise.
  const uint8_t* unchanged(const Goroutine& g, const RemoteRange& used) const;
  // What keeps the bytes alive (a snapshot adopting them holds it).
  std::shared_ptr<const void> arena() const { return arena_; }

  size_t stacks() const { return entries_.size(); }
  // How many stacks unchanged() vouched for (less those a caller then refused: not_kept).
  size_t kept() const { return kept_; }
  void not_kept(size_t n) const { kept_ -= std::min(n, kept_); }
  uint64_t stack_bytes() const { return stack_bytes_; }
  // What the stop will still copy, from the same reads: g structs and the stacks not copied
  // here. It sizes the buffer faulted in before the stop.
  uint64_t stop_bytes() const { return stop_bytes_; }

 private:
  struct Entry {
    Goroutine g;          // as decoded before the stop
    uint64_t offset = 0;  // of the stack bytes in the arena
    uint64_t size = 0;    // bytes copied from g.sched_sp
  };
  std::vector<Entry> entries_;  // sorted by g.g
  std::shared_ptr<const void> arena_;
  uint64_t stack_bytes_ = 0;
  uint64_t stop_bytes_ = 0;
  mutable size_t kept_ = 0;
};

// For tests (IFXRAY_TEST_PRECOPY_CHECK=1 in the environment): the stop copies the stacks the
// pre-copy vouched for once more and compares, in a line like "pre-copy check: 0 of 95340 kept
// stacks differ from the stop's copy" (and the heap's span pre-read likewise, SpanPreread).
// IFXRAY_TEST_PRECOPY_DELAY_MS=N waits N ms between everything read before the stop (pre-copy,
// pre-read) and the stop, announced on stderr (precopy_test_delay, called by open_session), so
// that goroutines and spans can change in between.
bool precopy_check_requested();
void precopy_test_delay();
std::string check_precopy(Memory& stopped, std::span<const AdoptedRange> kept);

}  // namespace ifx
