// The pieces of reading allgs that goroutines.cpp and stack_precopy.cpp share: decoding a g
// struct, where its used stack lies, and how g structs are batched.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/runtime/goroutines.h"

namespace ifx {

// The fields of a g struct copied as `raw` (layout.size(Typ::kG) bytes).
void decode_goroutine(const Layout& l, const std::vector<uint8_t>& raw, Goroutine& g);

// The part of g's stack the unwinder reads: from its saved sp up to stack.hi (the whole stack of
// a running goroutine); none for a dead g or an sp outside its stack.
std::optional<RemoteRange> used_stack(const Goroutine& g, const GoroutineLimits& limits);

// The g structs' ranges, sorted, with neighbours less than a page apart merged: g structs sit
// side by side in their spans, so a few ranges copy them all.
std::vector<RemoteRange> merged_g_ranges(const std::vector<Goroutine>& gs, uint64_t g_size);

// allgs' entries, at most `limit`; empty when allgs cannot be read.
std::vector<uint64_t> read_allgs(GoRuntime& rt, uint64_t limit);

}  // namespace ifx
