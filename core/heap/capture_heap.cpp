// The stop phase of the heap model: the in-use spans (span_reader.cpp), then copy in bulk what a
// mark phase reads later (scan spans' bytes, allocation bits, Go 1.19-1.21 heap bitmaps,
// data/bss and their pointer masks, specials).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_set>

#include "core/heap/heap.h"
#include "core/heap/span_reader.h"
#include "core/runtime/stack_precopy.h"
#include "core/util/phases.h"

namespace ifx {
namespace {

constexpr uint64_t kArenaBytes = uint64_t{64} << 20;
constexpr uint64_t kArenaBaseOffset = 0xffff800000000000;  // linux/amd64
constexpr size_t kMaxModules = 64;
constexpr size_t kMaxSpecialsPerSpan = 1 << 20;

uint64_t arena_number(uint64_t addr) {
  return (addr - kArenaBaseOffset) / kArenaBytes;
}

class Capturer {
 public:
  Capturer(GoRuntime& rt, const HeapOptions& opts, HeapCapture& out)
      : rt_(rt), opts_(opts), out_(out), mem_(rt.memory()) {}

  // The bytes run() would copy, from the metadata alone (on a running process: an estimate).
  // With `keep`, the span metadata is kept there for the stop (SpanPreread).
  uint64_t estimate(SpanPreread* keep) {
    out_.go_minor = rt_.binary().version().minor;
    read_modules();
    SpanReader spans(rt_, opts_, out_);
    if (!spans.read_spans(keep)) return 0;
    if (out_.go_minor <= 21) read_arena_bitmaps();
    uint64_t bytes = 0;
    for (const auto& r : copy_ranges()) bytes += r.size;
    if (keep != nullptr) {
      spans.read_alloc_bits(0);
      spans.keep_spans(*keep);
      bytes += keep->bytes();
    }
    return bytes;
  }

  void use_preread(SpanPreread* p) { preread_ = p; }

  void run() {
    out_.go_minor = rt_.binary().version().minor;
    std::string exp = rt_.binary().build_info().setting("GOEXPERIMENT");
    bool green = out_.go_minor >= 26 ? exp.find("nogreenteagc") == std::string::npos
                                     : exp.find("greenteagc") != std::string::npos &&
                                           exp.find("nogreenteagc") == std::string::npos;
    out_.inline_mark_bits = green && out_.go_minor >= 25;
    read_modules();
    SpanReader spans(rt_, opts_, out_);
    bool replayed = false;
    {
      PhaseTimer t("stop_heap_spans");
      replayed = preread_ != nullptr && spans.replay(*preread_);
      if (!replayed && !spans.read_spans()) return;
    }
    {
      PhaseTimer t("stop_heap_bits");
      if (!replayed) spans.read_alloc_bits(0);
      if (replayed && precopy_check_requested()) spans.check_replay();
      if (out_.go_minor <= 21) read_arena_bitmaps();
    }
    {
      PhaseTimer t("stop_heap_specials");
      read_specials();
      read_root_blocks();
    }
    {
      PhaseTimer t("stop_heap_copy");
      copy_memory();
    }
    PhaseTimer t("stop_heap_masks");
    if (out_.go_minor >= 24 && opts_.copy_on_demand_masks) copy_on_demand_masks();
  }

 private:
  void problem(std::string p) {
    if (out_.problems.size() < kMaxHeapProblems) out_.problems.push_back(std::move(p));
  }

  void read_modules() {
    auto md = rt_.binary().moduledata_addr();
    if (!md) {
      problem("moduledata not found: no global roots");
      return;
    }
    RemoteAddr at(*md + rt_.bias());
    for (size_t i = 0; i < kMaxModules && !at.is_null(); ++i) {
      auto data = rt_.read_field(at, Fld::kModuledataData);
      auto edata = rt_.read_field(at, Fld::kModuledataEdata);
      auto bss = rt_.read_field(at, Fld::kModuledataBss);
      auto ebss = rt_.read_field(at, Fld::kModuledataEbss);
      auto dmask = rt_.read_field(at, Fld::kModuledataGcdatamask);
      auto bmask = rt_.read_field(at, Fld::kModuledataGcbssmask);
      if (!data || !edata || !bss || !ebss || !dmask || !bmask || *edata < *data || *ebss < *bss ||
          *edata - *data > (uint64_t{1} << 34) || *ebss - *bss > (uint64_t{1} << 34)) {
        problem(fmt::format("moduledata at {} unreadable or inconsistent: its globals are unknown",
                            at));
        break;
      }
      ModuleRoots m;
      m.data = {RemoteAddr(*data), *edata - *data};
      m.bss = {RemoteAddr(*bss), *ebss - *bss};
      m.data_mask = RemoteAddr(*dmask);
      m.bss_mask = RemoteAddr(*bmask);
      out_.modules.push_back(m);
      auto next = rt_.read_field(at, Fld::kModuledataNext);
      at = RemoteAddr(next.value_or(0));
    }
  }

  void read_arena_bitmaps() {
    auto mheap = rt_.global(Glob::kMheap);
    auto arenas_off = rt_.layout().field(Fld::kMheapArenas);
    auto bitmap_off = rt_.layout().field(Fld::kHeapArenaBitmap);
    if (!mheap || !arenas_off || !bitmap_off) {
      problem("heap arena bitmaps' layout unknown: objects are scanned conservatively");
      return;
    }
    // linux/amd64: one L1 entry pointing at the L2 array of *heapArena.
    auto l2 = mem_.read_u64(*mheap + arenas_off->offset);
    if (!l2 || *l2 == 0) {
      problem("mheap_.arenas unreadable: objects are scanned conservatively");
      return;
    }
    std::vector<uint64_t> numbers;
    for (const auto& s : out_.spans) {
      if (s.noscan()) continue;
      for (uint64_t a = arena_number(s.start.value()); a <= arena_number(s.end().value() - 1); ++a)
        numbers.push_back(a);
    }
    std::sort(numbers.begin(), numbers.end());
    numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
    for (uint64_t a : numbers) {
      if (a >= (uint64_t{1} << 22)) continue;
      auto ha = mem_.read_u64(RemoteAddr(*l2 + a * 8));
      if (!ha || *ha == 0) {
        problem(fmt::format(
            "heap arena {} has no heapArena: its objects are scanned conservatively", a));
        continue;
      }
      out_.arena_bitmaps.emplace_back(a, RemoteAddr(*ha + bitmap_off->offset));
      bitmap_size_ = bitmap_off->size;
    }
  }

  void read_specials() {
    const Layout& l = rt_.layout();
    if (!l.field(Fld::kSpecialNext) || !l.field(Fld::kSpecialKind)) return;
    // Kinds (mheap.go): finalizer 1 in every version; weak handle 2 and cleanup 3 (Go 1.24+,
    // where _KindSpecialFinalizer stays 1). Kinds are matched by the record layouts present.
    auto finalizer_fn = l.field(Fld::kSpecialFinalizerFn);
    auto cleanup_fn = l.field(Fld::kSpecialCleanupFn);
    auto weak = l.field(Fld::kSpecialWeakHandleHandle);
    // The bytes of a record that are read: the header and any root slot.
    uint64_t record = 0;
    for (const auto& f : {l.field(Fld::kSpecialNext), l.field(Fld::kSpecialKind),
                          l.field(Fld::kSpecialOffset), finalizer_fn, cleanup_fn, weak}) {
      if (f) record = std::max(record, f->offset + std::max<uint64_t>(f->size, 8));
    }
    // Every span's list, one level at a time, each level copied in a few system calls: records
    // come from fixalloc chunks, and a 1 GiB heap has thousands (allocation profile samples).
    std::vector<std::pair<size_t, uint64_t>> level, next;  // span index, record
    for (size_t i = 0; i < out_.spans.size(); ++i) {
      if (!out_.spans[i].specials.is_null()) level.emplace_back(i, out_.spans[i].specials.value());
    }
    std::vector<RemoteRange> ranges;
    for (size_t depth = 0; !level.empty() && depth < kMaxSpecialsPerSpan; ++depth) {
      ranges.clear();
      for (const auto& [i, rec] : level) ranges.push_back({RemoteAddr(rec), record});
      mem_.capture(merge_nearby(std::move(ranges)));
      next.clear();
      for (const auto& [i, sp] : level) {
        const HeapSpan& s = out_.spans[i];
        RemoteAddr rec(sp);
        auto kind = rt_.read_field(rec, Fld::kSpecialKind);
        auto offset = rt_.read_field(rec, Fld::kSpecialOffset);
        if (!kind || !offset) {
          problem(fmt::format("span {}: special record {} unreadable", s.start, rec));
          continue;
        }
        SpecialRoot r;
        r.object = s.start + *offset;
        std::optional<FieldInfo> slot;
        if (*kind == 1) {
          r.kind = SpecialRoot::kFinalizer;
          slot = finalizer_fn;
        } else if (*kind == 2 && weak && out_.go_minor >= 24) {
          r.kind = SpecialRoot::kWeakHandle;
          slot = weak;
        } else if (*kind == 3 && cleanup_fn && out_.go_minor >= 24) {
          r.kind = SpecialRoot::kCleanup;
          slot = cleanup_fn;
        }
        if (slot) {
          r.slot = rec + slot->offset;
          r.value = RemoteAddr(mem_.read_u64(r.slot).value_or(0));
          out_.specials.push_back(r);
        } else if (*kind == 1) {
          out_.specials.push_back(r);
        }
        if (uint64_t n = rt_.read_field(rec, Fld::kSpecialNext).value_or(0); n != 0) {
          next.emplace_back(i, n);
        }
      }
      level.swap(next);
    }
  }

  // A list of off-heap blocks: next at `link`, `count` entries of `entry` bytes at `array`.
  void read_blocks(std::string_view name, uint64_t first, Fld link, Fld count, Fld array,
                   uint64_t entry) {
    auto fa = rt_.layout().field(array);
    if (!fa) return;
    constexpr size_t kMaxBlocks = 1 << 20;
    for (size_t i = 0; first != 0 && i < kMaxBlocks; ++i) {
      auto n = rt_.read_field(RemoteAddr(first), count);
      auto next = rt_.read_field(RemoteAddr(first), link);
      if (!n || !next) {
        problem(fmt::format("{} block at {:#x} unreadable: those roots are unknown", name, first));
        return;
      }
      uint64_t bytes = std::min<uint64_t>(*n * entry, fa->size);
      if (bytes > 0) out_.blocks.push_back({name, {RemoteAddr(first + fa->offset), bytes}});
      first = *next;
    }
  }

  void read_root_blocks() {
    const Layout& l = rt_.layout();
    if (auto allfin = rt_.global(Glob::kAllfin)) {
      // runtime.finalizer is five words in every version (queuefinalizer checks it).
      read_blocks("queued finalizer", mem_.read_u64(*allfin).value_or(0), Fld::kFinblockAlllink,
                  Fld::kFinblockCnt, Fld::kFinblockFin, 5 * 8);
    } else if (l.field(Fld::kFinblockFin)) {
      problem("runtime.allfin not found: queued finalizers are not roots");
    }
    if (auto q = rt_.global(Glob::kGcCleanups); q && l.field(Fld::kCleanupQueueAll)) {
      uint64_t first = rt_.read_field(*q, Fld::kCleanupQueueAll).value_or(0);
      read_blocks("queued cleanup", first, Fld::kCleanupBlockAlllink, Fld::kCleanupBlockN,
                  Fld::kCleanupBlockCleanups, l.size(Typ::kCleanupFn).value_or(8));
    } else if (l.field(Fld::kCleanupBlockCleanups)) {
      problem("runtime.gcCleanups not found: queued cleanups are not roots");
    }
  }

  std::vector<RemoteRange> copy_ranges() const {
    std::vector<RemoteRange> ranges;
    for (const auto& m : out_.modules) {
      ranges.push_back(m.data);
      ranges.push_back(m.bss);
      ranges.push_back({m.data_mask, (m.data.size / 8 + 7) / 8});
      ranges.push_back({m.bss_mask, (m.bss.size / 8 + 7) / 8});
    }
    for (const auto& s : out_.spans) {
      if (!s.noscan() || opts_.copy_noscan) ranges.push_back({s.start, s.bytes()});
    }
    for (const auto& b : out_.blocks) ranges.push_back(b.words);
    // Go 1.19-1.21: the whole bitmap of each arena holding scan spans (2 or 1 MiB).
    for (const auto& [a, bm] : out_.arena_bitmaps) ranges.push_back({bm, bitmap_size_});
    return ranges;
  }

  void copy_memory() {
    std::vector<RemoteRange> ranges = copy_ranges();
    auto t0 = std::chrono::steady_clock::now();
    uint64_t bytes = 0;
    for (const auto& r : ranges) bytes += r.size;
    out_.copied_bytes = rt_.target().is_live() ? bytes : 0;
    mem_.capture(ranges);
    out_.copy_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }

  // Go 1.24+ builds the pointer masks of large types on first use, off the heap: copy the
  // masks of the types that head an object (allocation headers, largeType) now, while they can
  // be read. Reads of headers hit the span copies just made.
  void copy_on_demand_masks() {
    const Layout& l = rt_.layout();
    auto ft = l.field(Fld::kTypeTFlag), fg = l.field(Fld::kTypeGCData),
         fp = l.field(Fld::kTypePtrBytes);
    if (!ft || !fg || !fp) return;
    std::unordered_set<uint64_t> types;
    std::vector<uint8_t> word(8);
    for (const HeapSpan& s : out_.spans) {
      if (s.noscan()) continue;
      if (s.large()) {
        if (!s.large_type.is_null()) types.insert(s.large_type.value());
        continue;
      }
      if (s.elemsize <= 512) continue;
      const uint64_t* bits = &out_.alloc_words[s.bits_at];
      // The span was just copied: its headers are read in place (a read per object of a 1 GiB
      // heap costs hundreds of milliseconds of pause).
      const uint8_t* copy = mem_.view(s.start, s.bytes());
      uint64_t last = 0;
      for (uint32_t k = 0; k < s.nelems; ++k) {
        if (((bits[k / 64] >> (k % 64)) & 1) == 0) continue;
        uint64_t at = uint64_t{k} * s.elemsize;
        std::optional<uint64_t> t;
        if (copy != nullptr) {
          uint64_t v = 0;
          std::memcpy(&v, copy + at, 8);
          t = v;
        } else {
          t = mem_.read_u64(s.start + at);
        }
        if (t && *t != 0 && *t != last) {
          types.insert(*t);
          last = *t;
        }
      }
    }
    std::vector<RemoteRange> masks;
    for (uint64_t t : types) {
      auto tflag = rt_.read_field(RemoteAddr(t), Fld::kTypeTFlag);
      if (!tflag || (*tflag & 0x10) == 0) continue;  // TFlagGCMaskOnDemand
      auto gcdata = rt_.read_field(RemoteAddr(t), Fld::kTypeGCData);
      auto ptrdata = rt_.read_field(RemoteAddr(t), Fld::kTypePtrBytes);
      if (!gcdata || !ptrdata || *ptrdata > (uint64_t{1} << 40)) continue;
      auto mask = mem_.read_u64(RemoteAddr(*gcdata));
      if (mask && *mask != 0) masks.push_back({RemoteAddr(*mask), (*ptrdata / 8 + 7) / 8});
    }
    mem_.capture(masks);
    for (const auto& r : masks) out_.copied_bytes += rt_.target().is_live() ? r.size : 0;
  }

  GoRuntime& rt_;
  const HeapOptions& opts_;
  HeapCapture& out_;
  Memory& mem_;
  SpanPreread* preread_ = nullptr;  // run(): the span metadata read before the stop
  uint64_t bitmap_size_ = 0;
};

}  // namespace

uint64_t estimate_heap_capture_bytes(GoRuntime& rt, const HeapOptions& opts, SpanPreread* keep) {
  HeapCapture scratch;
  if (keep != nullptr) *keep = SpanPreread{};
  uint64_t bytes = Capturer(rt, opts, scratch).estimate(keep);
  // The heap grows between the estimate and the stop: some slack, within a sane bound (the
  // metadata was read racily).
  constexpr uint64_t kMaxReserve = uint64_t{8} << 30;
  return bytes == 0 ? 0 : std::min(bytes + bytes / 8 + (4 << 20), kMaxReserve);
}

HeapCapture capture_heap(GoRuntime& rt, const HeapOptions& opts,
                         std::span<const Goroutine> goroutines, SpanPreread* preread) {
  auto t0 = std::chrono::steady_clock::now();
  HeapCapture out;
  // Running goroutines: their stacks from the live sp (the thread's), as collect_roots scans.
  std::vector<RemoteRange> stacks;
  for (const Goroutine& g : goroutines) {
    if (g.status != kGrunning || g.stack_hi <= g.stack_lo) continue;
    for (const Thread& t : rt.target().threads()) {
      if (t.has_regs && t.regs.rsp >= g.stack_lo && t.regs.rsp < g.stack_hi)
        stacks.push_back({RemoteAddr(t.regs.rsp), g.stack_hi - t.regs.rsp});
    }
  }
  rt.memory().capture(stacks);
  Capturer c(rt, opts, out);
  c.use_preread(preread);
  c.run();
  out.capture_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace ifx
