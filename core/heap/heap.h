// The Go heap of one target as the garbage collector sees it: spans, allocated objects, the
// pointer words inside them (from the GC's own pointer metadata), and the roots a mark phase
// starts from. This is the contract the leak proof (analysis/leaks) builds on.
//
// Two phases, like `frames`:
//   1. capture_heap(rt, opts) runs while a live target is stopped (after snapshot_goroutines):
//      it reads the span metadata and copies, in few bulk reads, what a mark phase needs:
//      the memory of every in-use span that may hold pointers ("scan" spans), allocation bits,
//      pointer bitmaps and the data/bss sections. Pointer-free ("noscan") spans are described
//      (bounds, allocated objects) but their bytes are not copied unless opts.copy_noscan.
//      On a core nothing is copied; the same call only reads the metadata.
//   2. HeapIndex(rt, std::move(capture)) runs after the target is released and answers
//      everything below from the snapshot. Roots come from collect_roots().
//
// Use (cmd/info.cpp --heap does exactly this; analysis/heap_info.cpp walks the result):
//   std::vector<Goroutine> gs = read_goroutines(rt, limits, problems);   // target stopped
//   HeapCapture cap = capture_heap(rt, HeapOptions{}, gs);
//   target.release();
//   HeapIndex heap(rt, std::move(cap));
//   RootSet roots = collect_roots(rt, heap, gs, RootOptions{});
//   for each root: heap.object_at(root.value) -> mark; for each marked object:
//   heap.for_each_pointer(obj, ...) -> heap.object_at(value) -> mark ...
//
// Soundness rule for a proof: whenever the metadata is missing, unreadable or not understood,
// this layer over-approximates reachability (it reports more pointer words, scanning
// conservatively, never fewer) and says so in problems(). A leak proof built on it may then
// say "unknown", but never a false "proven". Spans whose metadata is corrupt are skipped (their
// objects are unknown to object_at) and listed in problems(); a proof must treat a pointer into
// a skipped span's range (skipped_ranges()) as "unknown target", not as "points nowhere".
//
// Edges are the GC's, unfiltered: the runtime's own globals are roots too (runtime.allgs reaches
// every g, g.waiting its sudogs, sudog.c/elem the channel and value a goroutine blocks on;
// runtime.sched, allp, mheap_ ...). Go 1.26's leak detector hides sudog.elem/c from the mark
// (maybeTraceablePtr); a proof that wants the same must cut those edges itself (Root::name
// names the global, object_at + the type reader name the object).
//
// Thread-safety: a HeapIndex is immutable after construction except that reads go through the
// target's Memory, which is not thread-safe, and that it keeps scratch buffers; use one thread.
// for_each_pointer may be called again from inside its own callback.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/runtime/go_runtime.h"
#include "core/runtime/goroutines.h"

namespace ifx {

// Bounds on what is read from the target (every count read from it is checked against these).
struct HeapOptions {
  uint64_t max_spans = 64'000'000;              // in-use spans
  uint64_t max_heap_bytes = uint64_t{1} << 40;  // total bytes of in-use spans
  bool copy_noscan = false;                     // also copy pointer-free spans' bytes (values)
  // Go 1.24+ builds large types' GC masks on first use, off the heap: copy the masks of the
  // types heading objects in the stop. A caller that allows late reads after the release can
  // leave them to HeapIndex (a mask never changes once built; one not built yet is unknown and
  // its objects are scanned conservatively).
  bool copy_on_demand_masks = true;
};

// One in-use span (runtime.mspan with state mSpanInUse).
struct HeapSpan {
  RemoteAddr start;                     // mspan.startAddr
  uint64_t npages = 0;                  // mspan.npages (8 KiB pages)
  uint64_t elemsize = 0;                // mspan.elemsize: the slot size of each object
  uint32_t nelems = 0;                  // mspan.nelems
  uint32_t freeindex = 0;               // mspan.freeindex
  uint8_t spanclass = 0;                // mspan.spanclass: sizeclass << 1 | noscan
  RemoteAddr span_struct;               // the mspan itself (runtime metadata, off-heap)
  RemoteAddr alloc_bits;                // mspan.allocBits (nelems bits)
  RemoteAddr large_type;                // mspan.largeType (Go 1.22+, large scan objects), else null
  uint64_t allocated = 0;               // objects allocated in it (see HeapObject)
  std::optional<uint64_t> alloc_count;  // mspan.allocCount, when its layout is known
  uint64_t bits_at = 0;                 // internal: first word of its allocated bits in the capture
  RemoteAddr specials;                  // internal: mspan.specials

  uint8_t sizeclass() const { return spanclass >> 1; }
  bool noscan() const { return (spanclass & 1) != 0; }
  bool large() const { return sizeclass() == 0; }  // one object spanning the span
  uint64_t bytes() const { return npages * 8192; }
  RemoteAddr end() const { return start + bytes(); }
};

// An allocated heap object: a slot of a span that the runtime counts as allocated (bit set in
// mspan.allocBits, or index below mspan.freeindex — allocated since the last sweep). After a
// completed GC cycle, allocated == live or not yet reclaimed; ifxray does not mark itself.
//
// base is the slot's first byte and size its full slot size (elemsize). For Go 1.22+ objects in
// span classes above 512 bytes, the first 8 bytes of the slot are the runtime's allocation
// header (a *_type) and the Go pointer to the object is base+8; both point into the object, so
// object_at() maps either to the same object. Tiny-allocator blocks (16 bytes, noscan) hold
// several Go values each and count as one object, as the runtime counts them.
struct HeapObject {
  RemoteAddr base;
  uint64_t size = 0;
  uint32_t span = 0;   // index into HeapIndex::spans()
  uint32_t index = 0;  // object index inside its span

  bool operator==(const HeapObject& o) const { return base == o.base; }
};

// A module's pointer-bearing static data (runtime.moduledata).
struct ModuleRoots {
  RemoteRange data, bss;
  RemoteAddr data_mask, bss_mask;  // gcdatamask/gcbssmask.bytedata: 1 bit per word
};

// A special record of a span that the GC treats as a root (mgcmark.go markrootSpans).
struct SpecialRoot {
  enum Kind : uint8_t { kFinalizer, kCleanup, kWeakHandle } kind = kFinalizer;
  RemoteAddr object;  // the object it is attached to (base + special.offset)
  RemoteAddr slot;    // the pointer word inside the record (fn or handle)
  RemoteAddr value;
};

// Off-heap runtime memory whose words are roots: finalizers queued to run (runtime.allfin's
// blocks), cleanups queued to run (Go 1.24+ gcCleanups' blocks). Scanned word by word.
struct RootBlock {
  std::string_view name;  // "queued finalizer", "queued cleanup"
  RemoteRange words;
};

// What the stop phase copied and read; hand it to HeapIndex.
struct HeapCapture {
  std::vector<HeapSpan> spans;        // sorted by start, non-overlapping
  std::vector<uint64_t> alloc_words;  // allocated-object bits of every span (HeapSpan::bits_at)
  std::vector<std::pair<uint64_t, RemoteAddr>> arena_bitmaps;  // arena -> heapArena.bitmap (≤1.21)
  std::vector<ModuleRoots> modules;
  std::vector<SpecialRoot> specials;
  std::vector<RootBlock> blocks;
  bool inline_mark_bits = false;      // Go 1.26+ green tea GC: 128 bytes at small spans' end
  std::vector<std::string> problems;  // spans skipped and why, missing layouts ...
  std::vector<RemoteRange> skipped;   // in-use ranges whose metadata was unusable
  // An in-use span was skipped whose range itself is unknown (npages corrupt, or spans that
  // overlap): any heap pointer may lead into it, so no proof can rely on what the heap lacks.
  bool skipped_unbounded = false;
  uint64_t copied_bytes = 0;   // bytes captured for the heap (0 on a core)
  double capture_ms = 0;       // time spent in capture_heap
  double copy_ms = 0;          // of which the bulk copy of copied_bytes
  uint64_t spans_reused = 0;   // with a SpanPreread: spans kept as decoded before the stop
  uint64_t spans_decoded = 0;  // with a SpanPreread: spans decoded in the stop (changed or new)
  int go_minor = 0;
};

struct SpanPreread;

// Stop phase: read the span metadata and copy what a mark phase needs (see the top comment).
// `goroutines` (from read_goroutines, same stop) lets it also copy the stacks of running
// goroutines from their thread's stack pointer: read_goroutines copies from the saved sp,
// which is stale for a running goroutine, and collect_roots scans those stacks from the live
// sp. Never throws for bad target memory: problems are listed in the capture.
// `preread`, from estimate_heap_capture_bytes before this stop, is consumed.
HeapCapture capture_heap(GoRuntime& rt, const HeapOptions& opts,
                         std::span<const Goroutine> goroutines = {},
                         SpanPreread* preread = nullptr);

// The span metadata as read before the stop, kept for the stop: there the mspan structs are
// copied again in bulk and only those whose bytes changed since are decoded and have their
// allocation bits read again (a 1 GiB heap has ~140k spans: decoding them all costs ~100 ms of
// pause). Sound because a decoded span is a function of its mspan bytes alone, allocBits change
// only when a sweep installs new ones (which rewrites the mspan), allspans only grows, and the
// stop re-reads and compares the allspans prefix too. Used only when the pre-read met no
// problem; otherwise the stop reads everything as before.
struct SpanPreread {
  bool usable = false;
  std::vector<uint64_t> ptrs;       // allspans entries
  std::vector<uint8_t> structs;     // their mspan structs, struct_size bytes each
  std::vector<uint8_t> read_whole;  // 1 when entry i's struct was read whole
  uint64_t struct_size = 0;
  std::vector<RemoteRange> clusters;    // merged ranges holding every struct read
  std::vector<HeapSpan> spans;          // in-use spans decoded, sorted, allocation bits read
  std::vector<uint32_t> entry_of_span;  // allspans index of each of spans
  std::vector<uint64_t> alloc_words;
  uint64_t bytes() const;  // what the stop copies again (for the pre-faulted buffer)
};

// What capture_heap(rt, opts) will copy, estimated on the running process before it is stopped
// (racy reads of the span metadata; slack added for growth): the size of the destination
// buffer to fault in before the stop (TargetOptions::snapshot_reserve). 0 when the heap
// metadata cannot be read. With `keep`, the span metadata read is kept there for
// capture_heap(..., keep).
uint64_t estimate_heap_capture_bytes(GoRuntime& rt, const HeapOptions& opts,
                                     SpanPreread* keep = nullptr);

// Where one pointer word lives, for a pointer scan callback.
using PointerFn = std::function<void(RemoteAddr slot, RemoteAddr value)>;

class HeapIndex {
 public:
  HeapIndex(GoRuntime& rt, HeapCapture capture);

  // The allocated object containing addr (interior pointers included; the slot's bytes past the
  // Go value's size count as inside). nullopt for addresses outside in-use spans, in free slots,
  // or in skipped spans. O(1): a page table per arena.
  std::optional<HeapObject> object_at(RemoteAddr addr) const;
  // The in-use span containing addr, if any (allocated or not).
  const HeapSpan* span_at(RemoteAddr addr) const;

  // Every non-zero word of obj that the GC's pointer metadata marks as a pointer, in address
  // order: slot is where the word is, value what it holds (not filtered: it may point outside
  // the heap, into a stack or static data). Nothing is reported for noscan spans. Where the
  // metadata of the object cannot be read or is not understood, every non-zero word of the
  // object is reported (conservative) and the object is counted in conservative_objects().
  // Returns false when the object's bytes cannot be read (listed in problems once per span).
  bool for_each_pointer(const HeapObject& obj, const PointerFn& fn) const;

  // Every allocated object, span by span in address order.
  void for_each_object(const std::function<void(const HeapObject&)>& fn) const;

  const std::vector<HeapSpan>& spans() const { return cap_.spans; }
  const std::vector<RemoteRange>& skipped_ranges() const { return cap_.skipped; }
  // What collect_roots reads: modules' data/bss and the specials of spans.
  const HeapCapture& capture() const { return cap_; }
  // Figures: allocated objects and their slot bytes, over all in-use spans.
  uint64_t object_count() const { return objects_; }
  uint64_t object_bytes() const { return object_bytes_; }
  uint64_t conservative_objects() const { return conservative_objects_; }
  // Problems found while capturing and while scanning (bounded in number).
  const std::vector<std::string>& problems() const { return problems_; }

  // A type descriptor's pointer layout (Go 1.22+ allocation headers): size, ptrdata and the
  // mask (1 bit per word over ptrdata); nullopt when unreadable.
  struct TypeMask {
    uint64_t size = 0;
    uint64_t ptrdata = 0;
    std::vector<uint8_t> mask;
  };
  const TypeMask* type_mask(RemoteAddr type) const;

  // The type the runtime itself records for obj (Go 1.22+: the allocation header of an object
  // over 512 bytes in a small scan span, mspan.largeType of a large one): the type descriptor,
  // where the typed data starts (past the header) and its bytes, which hold one or more values
  // of that type (a slice's backing array records its element type). nullopt when the runtime
  // records none (Go 1.21 and older, small or pointer-free objects, type not yet set).
  struct RecordedType {
    RemoteAddr type;
    RemoteAddr data;
    uint64_t bytes = 0;
  };
  std::optional<RecordedType> recorded_type(const HeapObject& obj) const;

 private:
  struct Arena {
    uint64_t number = 0;
    std::vector<uint32_t> page_span;  // span index + 1 per page, 0 = none
  };
  const Arena* arena_for(uint64_t addr) const;
  void note(std::string problem) const;
  bool scan_object(const HeapObject& obj, const PointerFn& fn) const;
  void conservative(const HeapObject& obj, const uint8_t* bytes, const PointerFn& fn) const;
  bool heap_bits_small(const HeapSpan& s, const HeapObject& obj, const uint8_t* bytes,
                       const PointerFn& fn) const;
  bool arena_bitmap(const HeapObject& obj, const uint8_t* bytes, const PointerFn& fn) const;
  void tile(const TypeMask& t, RemoteAddr from, uint64_t len, const uint8_t* bytes,
            const PointerFn& fn) const;
  std::optional<uint64_t> read_static(RemoteAddr addr, uint64_t size) const;
  // addr lies in a PT_LOAD segment of the executable (its code and static data).
  bool in_executable(uint64_t addr) const;
  std::optional<uint64_t> read_static_pointer(RemoteAddr addr) const;

  GoRuntime& rt_;
  HeapCapture cap_;
  std::vector<Arena> arenas_;  // sorted by number
  uint64_t objects_ = 0;
  uint64_t object_bytes_ = 0;
  mutable uint64_t conservative_objects_ = 0;
  mutable std::vector<std::string> problems_;
  mutable std::vector<uint8_t> scratch_;
  mutable std::vector<uint8_t> object_buf_;
  mutable std::vector<std::pair<RemoteAddr, RemoteAddr>> found_;
  mutable int depth_ = 0;
  mutable std::vector<uint8_t> span_bits_;  // heap bits of span_bits_of_ (Go 1.22+ small spans)
  mutable uint32_t span_bits_of_ = UINT32_MAX;
  mutable std::unordered_map<uint64_t, std::optional<TypeMask>> types_;
  mutable size_t dropped_problems_ = 0;
};

// ---- Roots ----------------------------------------------------------------------------------

enum class RootKind : uint8_t {
  kData,       // a pointer word of a module's data section (gcdatamask)
  kBss,        // a pointer word of a module's bss section (gcbssmask)
  kStack,      // a live pointer slot of a goroutine's stack frame (or its gobuf.ctxt)
  kFinalizer,  // a finalizer/cleanup/weak-handle special, or a queued finalizer (finq)
  kRuntime,    // another runtime root: defer/panic records of a goroutine, ...
};

std::string_view root_kind_name(RootKind k);  // "data", "bss", "stack", "finalizer", "runtime"

// One root word: the GC marks what `value` points to. Only non-zero words are reported.
struct Root {
  RootKind kind = RootKind::kData;
  RemoteAddr slot;    // where the word is (a global, a stack slot, a special record ...)
  RemoteAddr value;   // the pointer
  int64_t goid = -1;  // the goroutine whose stack or records hold it (kStack, kRuntime), else -1
  bool conservative = false;  // a word scanned without pointer maps (might not be a pointer)
  // What it is, for leak paths. Globals: the symbol ("main.registry") or, in a stripped binary,
  // the section ("bss"), with offset = slot - symbol (or section) start. Stack: the function
  // of the frame ("main.serve"), offset = slot - frame sp, frame = physical frame index
  // (0 = innermost). Finalizers: "finalizer" / "cleanup" / "weak handle" / "finq".
  std::string_view name;
  uint64_t offset = 0;
  uint32_t frame = 0;

  // "global main.registry+0x8", "goroutine 7 frame main.serve sp+0x18", "finalizer of 0x..".
  std::string where() const;
};

struct RootOptions {
  size_t max_frames = 10000;  // per goroutine
  bool stacks = true;
  bool globals = true;
  bool specials = true;
};

struct RootSet {
  std::vector<Root> roots;  // globals first, then stacks goroutine by goroutine, then the rest
  std::vector<std::string> problems;
  // Goroutines whose stack could not be scanned precisely (unwinding failed, running without
  // registers, missing stack maps): their stack words were reported conservatively, or, when
  // the stack itself is unreadable, not at all (listed here as "goroutine N: reason").
  std::vector<int64_t> conservative_goroutines;
};

// All roots of a mark phase, as the runtime's markroot finds them for this Go version: data and
// bss through moduledata's gcdatamask/gcbssmask (every module), each goroutine's stack (not
// dead ones) through the stack maps at each frame's pc (FUNCDATA_LocalsPointerMaps /
// ArgsPointerMaps at PCDATA_StackMapIndex; stack objects (FUNCDATA_StackObjects) are all
// treated as live; frames of async-preempted or injected calls and running goroutines'
// innermost frames scanned conservatively), gobuf.ctxt, defer and panic records, and the
// specials of spans (finalizers with the object's own pointer words, cleanups, weak handles)
// and queued finalizers. `goroutines` is the snapshot from read_goroutines.
RootSet collect_roots(GoRuntime& rt, const HeapIndex& heap, std::span<const Goroutine> goroutines,
                      const RootOptions& opts);

}  // namespace ifx
