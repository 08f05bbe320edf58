// What a walk over Go values (frames --locals, pitfalls) copies while a live target is stopped,
// so that the walk itself runs after the process is resumed.
#pragma once

#include <string>
#include <vector>

#include "core/analysis/goroutine_frames.h"
#include "core/heap/heap.h"
#include "core/runtime/go_runtime.h"

namespace ifx {

// Copies every in-use heap span (pointer-free ones too: strings and scalars are values) and the
// modules' data and bss; the stacks come from snapshot_goroutines of the same stop. Call it
// after snapshot_goroutines and before Target::release_with_late_reads(): what the walk reads
// beyond this (type descriptors, itabs, types made by reflect) does not change once written.
// Returns what could not be copied, as warnings. A core copies nothing. With `keep`, the heap
// capture is moved there (for a HeapIndex: the typed heap objects `pitfalls` searches in a
// stripped executable).
std::vector<std::string> capture_for_values(GoRuntime& rt, const GoroutineSnapshot& snap,
                                            HeapCapture* keep = nullptr);

}  // namespace ifx
