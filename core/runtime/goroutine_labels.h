// pprof labels of a goroutine: g.labels points at runtime/pprof's labelMap, a map[string]string
// up to Go 1.20 and a struct holding a sorted []{key, value string} slice from Go 1.21.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/runtime/go_runtime.h"

namespace ifx {

struct GoroutineLabels {
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by key, then value
  std::string error;                                        // why some or all labels are missing
};

// The labels that g.labels (non-zero) points at. Bounded in count and string bytes.
GoroutineLabels read_goroutine_labels(GoRuntime& rt, RemoteAddr labels);

}  // namespace ifx
