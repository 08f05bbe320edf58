// `pitfalls`: typed-nil interfaces in package-level variables, in the arguments and locals of
// every goroutine's frames, and in what those reach within a bounded depth. Without DWARF
// (stripped) there are no variables: the roots are then the heap objects whose type the runtime
// records (Go 1.22+) and the channels goroutines wait on, and what those reach.
#pragma once

#include "core/analysis/variables.h"
#include "core/heap/heap.h"
#include "core/report/goroutines.h"
#include "core/report/pitfalls.h"
#include "core/runtime/blocking.h"

namespace ifx {

struct PitfallOptions {
  int max_depth = 6;              // pointers, fields, elements followed from a variable
  size_t max_elements = 4096;     // elements per slice/array/map examined
  uint64_t max_values = 5000000;  // values visited in all
  bool runtime_globals = false;   // also the runtime's own package-level variables
};

// Only read for a stripped executable, each may be null (not searched then): `heap`, the heap
// captured in the same stop (capture_for_values with a HeapCapture, then HeapIndex);
// `blocking`, what the goroutines wait on (read_blocking): the buffers of the channels they wait
// on are searched with the channel's element type.
report::Pitfalls find_pitfalls(VariableSession& vars, const report::Goroutines& gs,
                               const PitfallOptions& opts, const HeapIndex* heap = nullptr,
                               const BlockingSnapshot* blocking = nullptr);

}  // namespace ifx
