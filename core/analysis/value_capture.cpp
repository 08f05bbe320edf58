#include "core/analysis/value_capture.h"

#include "core/heap/heap.h"

namespace ifx {

std::vector<std::string> capture_for_values(GoRuntime& rt, const GoroutineSnapshot& snap) {
  HeapOptions opts;
  opts.copy_noscan = true;
  HeapCapture cap = capture_heap(rt, opts, snap.goroutines);
  return std::move(cap.problems);
}

}  // namespace ifx
