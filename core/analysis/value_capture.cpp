#include "core/analysis/value_capture.h"

#include "core/heap/heap.h"

namespace ifx {

std::vector<std::string> capture_for_values(GoRuntime& rt, const GoroutineSnapshot& snap,
                                            HeapCapture* keep) {
  HeapOptions opts;
  opts.copy_noscan = true;
  HeapCapture cap = capture_heap(rt, opts, snap.goroutines);
  std::vector<std::string> problems = cap.problems;
  if (keep != nullptr) *keep = std::move(cap);
  return problems;
}

}  // namespace ifx
