// The in-use spans of mheap_.allspans and their allocation bits, read into a HeapCapture: in
// full, or in the stop from a SpanPreread (heap.h), decoding only the spans whose mspan changed.
// A part of capture_heap (capture_heap.cpp), not an interface for other layers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/heap/heap.h"

namespace ifx {

constexpr size_t kMaxHeapProblems = 50;  // problems listed in a HeapCapture

// Many small reads (mspans from fixalloc chunks, allocBits from gcBits arenas) lie close
// together: read them as a few larger ranges, one system call each, then hand out the pieces.
// `groups_out`, when given, receives the merged ranges read.
void read_clustered(Memory& mem, std::span<ReadRequest> reqs,
                    std::vector<RemoteRange>* groups_out = nullptr);

class SpanReader {
 public:
  SpanReader(GoRuntime& rt, const HeapOptions& opts, HeapCapture& out)
      : rt_(rt), opts_(opts), out_(out), mem_(rt.memory()) {}

  // Every in-use, sane span of allspans into out.spans, sorted; false when allspans or the
  // mspan layout is unusable. With `keep`, the raw entries and structs are recorded there.
  bool read_spans(SpanPreread* keep = nullptr);
  // The allocation bits of out.spans [from, end), after those of the others.
  void read_alloc_bits(size_t from);
  // After read_spans(&keep) and read_alloc_bits(0): the decoded spans and bits move to `keep`.
  void keep_spans(SpanPreread& keep);
  // The stop with a pre-read: copy allspans and the mspan structs again, keep the spans whose
  // mspan bytes did not change, decode the others and the new entries, with their bits. False,
  // with nothing changed, when the pre-read cannot serve (then read_spans reads everything).
  bool replay(SpanPreread& p);
  // For tests (precopy_check_requested): the spans and bits replay() gave, against a full read
  // in the same stop, in a problem line "pre-read check: ..."; the full read's are kept.
  void check_replay();

 private:
  void problem(std::string p) {
    if (out_.problems.size() < kMaxHeapProblems) out_.problems.push_back(std::move(p));
  }
  std::optional<std::pair<RemoteAddr, uint64_t>> allspans();
  bool add_span(const struct SpanFields& f, const uint8_t* mspan, RemoteAddr addr, uint64_t& total,
                uint64_t entry);
  static std::string check(const HeapSpan& s);
  void sort_and_check_overlaps(size_t sorted);

  GoRuntime& rt_;
  const HeapOptions& opts_;
  HeapCapture& out_;
  Memory& mem_;
  std::vector<uint32_t> entries_;  // allspans index of each span in out_.spans
  SpanPreread* keep_ = nullptr;    // read_spans(keep): where the raw metadata is recorded
};

}  // namespace ifx
