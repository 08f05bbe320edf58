// `leaks`: which blocked goroutines can never run again (proven), which look stuck on something
// still referenced (suspect), grouped by creation site, blocking stack and wait reason.
// Phase one copies goroutines, their blocking objects and the heap while a live target is
// stopped; phase two decides after it resumes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/analysis/goroutine_frames.h"
#include "core/analysis/leak_proof.h"
#include "core/report/leaks.h"
#include "core/runtime/blocking.h"

namespace ifx {

struct LeaksOptions {
  FramesOptions frames;
  BlockingLimits blocking;
  double min_wait_minutes = 1;  // suspects: blocked at least this long ...
  uint64_t min_group = 100;     // ... or in a group at least this large
  bool prove = true;            // capture the heap and run the proof
};

struct LeaksSnapshot {
  GoroutineSnapshot goroutines;
  BlockingSnapshot blocking;
  HeapSnapshotPtr heap;
  std::string no_heap;              // why there is no heap snapshot
  bool blocking_pending = false;    // `blocking` is read by finish_leaks_snapshot
  HeapCaptureFigures heap_figures;  // the heap copy in the stop
  double proof_ms = 0;              // the proof, after the stop (set by build_leaks)
};

// Before the stop, on the running process: what snapshot_leaks will copy (goroutine stacks and,
// with the proof, the heap), for TargetOptions::snapshot_reserve; 0 when unknown.
// With `keep`, what it read of the heap's span metadata is kept for snapshot_leaks (SpanPreread).
// With `precopy` (StackPrecopy, taken just before), the goroutines' part is what the stop will
// still copy of them.
uint64_t estimate_leaks_snapshot_bytes(GoRuntime& rt, const LeaksOptions& opts,
                                       std::shared_ptr<SpanPreread>* keep = nullptr,
                                       const StackPrecopy* precopy = nullptr);
// While a live target is stopped: goroutines, what they block on, and the heap for the proof.
// `preread`: from estimate_leaks_snapshot_bytes before this stop. `precopy`: stacks copied
// before the stop; a goroutine parked on a channel keeps its pre-copied stack only when no
// sender or closer can have written into it (queued_undisturbed), since the proof reads values.
LeaksSnapshot snapshot_leaks(GoRuntime& rt, const LeaksOptions& opts,
                             SpanPreread* preread = nullptr, const StackPrecopy* precopy = nullptr);
// After Target::release() and before Target::allow_late_reads(): what snapshot_leaks left to
// read from the snapshot alone (the blocking objects, when the heap was copied).
void finish_leaks_snapshot(GoRuntime& rt, LeaksSnapshot& snap, const LeaksOptions& opts);
// After finish_leaks_snapshot and Target::allow_late_reads() (it reads channels' element type
// descriptors and the GC masks the runtime builds on first use, both immutable once written).
// `goroutines`, when given, receives the goroutine report the leaks were built from.
report::Leaks build_leaks(GoRuntime& rt, LeaksSnapshot& snap, const LeaksOptions& opts,
                          report::Goroutines* goroutines = nullptr);
// The key that --watch follows a group by: created-by function, wait reason, blocking frames.
std::string group_key(const report::LeakGroup& g);

}  // namespace ifx
