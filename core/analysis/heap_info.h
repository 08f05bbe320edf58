// The heap model's figures for `info --heap`: a full pointer scan of every allocated object and
// every root, to measure the model and to give tests the runtime facts to compare.
#pragma once

#include <span>
#include <vector>

#include "core/heap/heap.h"
#include "core/report/heap.h"

namespace ifx {

report::HeapModel describe_heap(GoRuntime& rt, const HeapIndex& heap,
                                std::span<const Goroutine> goroutines,
                                const std::vector<uint64_t>& queries);

}  // namespace ifx
