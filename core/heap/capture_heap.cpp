// The stop phase of the heap model: read every mspan of mheap_.allspans, keep the in-use ones
// that pass sanity checks, and copy in bulk what a mark phase reads later (scan spans' bytes,
// allocation bits, Go 1.19-1.21 heap bitmaps, data/bss and their pointer masks, specials).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_set>

#include "core/heap/heap.h"
#include "core/util/phases.h"

namespace ifx {
namespace {

constexpr uint64_t kPageSize = 8192;
constexpr uint64_t kArenaBytes = uint64_t{64} << 20;
constexpr uint64_t kArenaBaseOffset = 0xffff800000000000;  // linux/amd64
constexpr uint8_t kSpanInUse = 1;                          // mSpanInUse since Go 1.14
constexpr size_t kMaxModules = 64;
constexpr size_t kMaxSpecialsPerSpan = 1 << 20;
constexpr size_t kMaxProblems = 50;

uint64_t arena_number(uint64_t addr) {
  return (addr - kArenaBaseOffset) / kArenaBytes;
}

uint64_t get_le(const uint8_t* p, uint64_t size) {
  uint64_t v = 0;
  for (uint64_t i = 0; i < size && i < 8; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

// Many small reads (mspans from fixalloc chunks, allocBits from gcBits arenas) lie close
// together: read them as a few larger ranges, one system call each, then hand out the pieces.
void read_clustered(Memory& mem, std::span<ReadRequest> reqs) {
  constexpr uint64_t kGap = 4096, kMaxGroup = 4 << 20;
  std::vector<size_t> order(reqs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return reqs[a].addr < reqs[b].addr; });
  struct Group {
    uint64_t start, end;
    size_t first, last;  // into order
  };
  std::vector<Group> groups;
  for (size_t k = 0; k < order.size(); ++k) {
    const ReadRequest& r = reqs[order[k]];
    uint64_t s = r.addr.value(), e = s + r.out.size();
    if (e < s || r.out.empty()) continue;
    if (!groups.empty() && s <= groups.back().end + kGap &&
        std::max(e, groups.back().end) - groups.back().start <= kMaxGroup) {
      groups.back().end = std::max(groups.back().end, e);
      groups.back().last = k;
    } else {
      groups.push_back({s, e, k, k});
    }
  }
  std::vector<uint8_t> buf;
  uint64_t total = 0;
  for (const auto& g : groups) total += g.end - g.start;
  buf.resize(total);
  std::vector<ReadRequest> big(groups.size());
  uint64_t at = 0;
  for (size_t i = 0; i < groups.size(); ++i) {
    big[i].addr = RemoteAddr(groups[i].start);
    big[i].out = std::span<uint8_t>(buf.data() + at, groups[i].end - groups[i].start);
    at += groups[i].end - groups[i].start;
  }
  mem.read_many(big);
  for (size_t i = 0; i < groups.size(); ++i) {
    for (size_t k = groups[i].first; k <= groups[i].last; ++k) {
      ReadRequest& r = reqs[order[k]];
      uint64_t off = r.addr.value() - groups[i].start;
      if (r.out.empty()) continue;
      size_t avail = big[i].done > off ? big[i].done - off : 0;
      if (avail < r.out.size()) {
        r.done = mem.read(r.addr, r.out);  // the group stopped early: this one on its own
      } else {
        std::memcpy(r.out.data(), big[i].out.data() + off, r.out.size());
        r.done = r.out.size();
      }
    }
  }
}

// Reads mspan fields from a copy of the struct.
struct SpanFields {
  const Layout& l;
  std::optional<uint64_t> get(const std::vector<uint8_t>& buf, size_t at, Fld f) const {
    auto info = l.field(f);
    if (!info || info->offset + info->size > buf.size() - at) return std::nullopt;
    return get_le(buf.data() + at + info->offset, info->size);
  }
};

class Capturer {
 public:
  Capturer(GoRuntime& rt, const HeapOptions& opts, HeapCapture& out)
      : rt_(rt), opts_(opts), out_(out), mem_(rt.memory()) {}

  // The bytes run() would copy, from the metadata alone (on a running process: an estimate).
  uint64_t estimate() {
    out_.go_minor = rt_.binary().version().minor;
    read_modules();
    if (!read_spans()) return 0;
    if (out_.go_minor <= 21) read_arena_bitmaps();
    uint64_t bytes = 0;
    for (const auto& r : copy_ranges()) bytes += r.size;
    return bytes;
  }

  void run() {
    out_.go_minor = rt_.binary().version().minor;
    std::string exp = rt_.binary().build_info().setting("GOEXPERIMENT");
    bool green = out_.go_minor >= 26 ? exp.find("nogreenteagc") == std::string::npos
                                     : exp.find("greenteagc") != std::string::npos &&
                                           exp.find("nogreenteagc") == std::string::npos;
    out_.inline_mark_bits = green && out_.go_minor >= 25;
    read_modules();
    {
      PhaseTimer t("stop_heap_spans");
      if (!read_spans()) return;
    }
    {
      PhaseTimer t("stop_heap_bits");
      read_alloc_bits();
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
    if (out_.problems.size() < kMaxProblems) out_.problems.push_back(std::move(p));
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

  bool read_spans() {
    const Layout& l = rt_.layout();
    auto mheap = rt_.global(Glob::kMheap);
    auto span_size = l.size(Typ::kMspan);
    if (!mheap || !span_size || !l.field(Fld::kMheapAllspansArray) ||
        !l.field(Fld::kMspanStartAddr) || !l.field(Fld::kMspanState)) {
      problem("runtime.mheap_ or the mspan layout is unknown: the heap cannot be read");
      return false;
    }
    auto arr = rt_.read_field(*mheap, Fld::kMheapAllspansArray);
    auto len = rt_.read_field(*mheap, Fld::kMheapAllspansLen);
    if (!arr || !len) {
      problem(fmt::format("mheap_.allspans unreadable: {}", mem_.why_unreadable(*mheap, 8)));
      return false;
    }
    uint64_t n = *len;
    if (n > opts_.max_spans) {
      problem(fmt::format("mheap_.allspans has {} entries, more than the bound {}; reading {}", n,
                          opts_.max_spans, opts_.max_spans));
      n = opts_.max_spans;
    }
    // In chunks, so that a corrupt length costs no more memory than the entries that can be
    // read; a chunk without one readable mspan ends the walk.
    constexpr uint64_t kChunk = 1 << 16;
    uint64_t ssize = *span_size;
    SpanFields f{l};
    uint64_t total = 0;
    size_t unreadable = 0;
    std::vector<uint8_t> ptrs, structs;
    std::vector<ReadRequest> reqs;
    for (uint64_t c = 0; c < n; c += kChunk) {
      uint64_t m = std::min(kChunk, n - c);
      ptrs.resize(m * 8);
      size_t got = mem_.read(RemoteAddr(*arr + c * 8), ptrs);
      if (got < ptrs.size()) {
        problem(fmt::format("mheap_.allspans: only {} of {} entries readable ({})", c + got / 8, n,
                            mem_.why_unreadable(RemoteAddr(*arr + c * 8 + got), 8)));
        m = got / 8;
        n = c + m;
      }
      structs.resize(m * ssize);
      reqs.assign(m, ReadRequest{});
      for (uint64_t i = 0; i < m; ++i) {
        reqs[i].addr = RemoteAddr(get_le(&ptrs[i * 8], 8));
        reqs[i].out = std::span<uint8_t>(structs.data() + i * ssize, ssize);
      }
      read_clustered(mem_, reqs);
      size_t readable = 0;
      for (uint64_t i = 0; i < m; ++i) {
        if (reqs[i].done < ssize) {
          ++unreadable;
          continue;
        }
        ++readable;
        if (!add_span(f, structs, i * ssize, reqs[i].addr, total)) {
          n = 0;
          break;
        }
      }
      if (m > 0 && readable == 0) {
        problem(fmt::format("mheap_.allspans: no readable mspan among entries {}-{}; stopped", c,
                            c + m));
        break;
      }
    }
    if (unreadable > 0) problem(fmt::format("{} mspan structs unreadable", unreadable));
    sort_and_check_overlaps();
    return true;
  }

  // One mspan copy: kept when in use and sane. False once the byte bound is reached.
  bool add_span(const SpanFields& f, const std::vector<uint8_t>& structs, size_t at,
                RemoteAddr addr, uint64_t& total) {
    auto state = f.get(structs, at, Fld::kMspanState);
    if (!state || *state != kSpanInUse) return true;
    HeapSpan s;
    s.span_struct = addr;
    s.start = RemoteAddr(f.get(structs, at, Fld::kMspanStartAddr).value_or(0));
    s.npages = f.get(structs, at, Fld::kMspanNpages).value_or(0);
    s.elemsize = f.get(structs, at, Fld::kMspanElemsize).value_or(0);
    s.nelems = static_cast<uint32_t>(
        std::min<uint64_t>(f.get(structs, at, Fld::kMspanNelems).value_or(0), UINT32_MAX));
    s.freeindex = static_cast<uint32_t>(
        std::min<uint64_t>(f.get(structs, at, Fld::kMspanFreeindex).value_or(0), UINT32_MAX));
    s.spanclass = static_cast<uint8_t>(f.get(structs, at, Fld::kMspanSpanclass).value_or(0));
    s.alloc_bits = RemoteAddr(f.get(structs, at, Fld::kMspanAllocBits).value_or(0));
    s.large_type = RemoteAddr(f.get(structs, at, Fld::kMspanLargeType).value_or(0));
    s.alloc_count = f.get(structs, at, Fld::kMspanAllocCount);
    std::string why = check(s);
    if (!why.empty()) {
      problem(fmt::format("span {} (mspan {}) skipped: {}", s.start, s.span_struct, why));
      if (s.npages > 0 && s.npages <= opts_.max_heap_bytes / kPageSize &&
          s.start.value() % kPageSize == 0) {
        out_.skipped.push_back({s.start, s.bytes()});
      } else {
        out_.skipped_unbounded = true;
      }
      return true;
    }
    total += s.bytes();
    if (total > opts_.max_heap_bytes) {
      problem(
          fmt::format("in-use spans exceed {} bytes; the rest are skipped", opts_.max_heap_bytes));
      return false;
    }
    out_.spans.push_back(s);
    specials_.push_back(f.get(structs, at, Fld::kMspanSpecials).value_or(0));
    return true;
  }

  static std::string check(const HeapSpan& s) {
    if (s.start.is_null() || s.start.value() % kPageSize != 0) return "start not page-aligned";
    if (s.npages == 0 || s.npages > (uint64_t{1} << 36) / kPageSize) return "bad npages";
    if (s.start.value() + s.bytes() < s.start.value()) return "wraps around";
    if (s.elemsize == 0 || s.nelems == 0) return "no objects";
    if (s.elemsize * s.nelems > s.bytes()) return "objects exceed the span";
    if (s.freeindex > s.nelems) return "freeindex past nelems";
    if (s.large() && s.nelems != 1) return "large span with several objects";
    if (s.sizeclass() >= 68) return "size class out of range";
    if (s.alloc_bits.is_null()) return "no allocBits";
    return "";
  }

  void sort_and_check_overlaps() {
    std::vector<size_t> order(out_.spans.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return out_.spans[a].start < out_.spans[b].start; });
    std::vector<HeapSpan> sorted;
    std::vector<uint64_t> specials;
    sorted.reserve(order.size());
    for (size_t i : order) {
      const HeapSpan& s = out_.spans[i];
      if (!sorted.empty() && sorted.back().end() > s.start) {
        problem(fmt::format("span {} overlaps span {}: skipped", s.start, sorted.back().start));
        out_.skipped.push_back({s.start, s.bytes()});
        // Which of the two lies is unknown: the other one's true range may be anywhere.
        out_.skipped_unbounded = true;
        continue;
      }
      sorted.push_back(s);
      specials.push_back(specials_[i]);
    }
    out_.spans = std::move(sorted);
    specials_ = std::move(specials);
  }

  void read_alloc_bits() {
    uint64_t words = 0;
    for (auto& s : out_.spans) {
      s.bits_at = words;
      words += (s.nelems + 63) / 64;
    }
    out_.alloc_words.assign(words, 0);
    std::vector<ReadRequest> reqs(out_.spans.size());
    for (size_t i = 0; i < out_.spans.size(); ++i) {
      const HeapSpan& s = out_.spans[i];
      reqs[i].addr = s.alloc_bits;
      reqs[i].out = std::span<uint8_t>(reinterpret_cast<uint8_t*>(&out_.alloc_words[s.bits_at]),
                                       (s.nelems + 7) / 8);
    }
    read_clustered(mem_, reqs);
    size_t bad = 0, inconsistent = 0;
    for (size_t i = 0; i < out_.spans.size(); ++i) {
      HeapSpan& s = out_.spans[i];
      uint64_t* w = &out_.alloc_words[s.bits_at];
      size_t nw = (s.nelems + 63) / 64;
      if (reqs[i].done < reqs[i].out.size()) {
        // Unknown allocation state: count every slot as allocated (over-approximation).
        ++bad;
        for (size_t k = 0; k < nw; ++k) w[k] = ~uint64_t{0};
      }
      // Slots below freeindex were allocated since the last sweep.
      for (uint32_t k = 0; k < s.freeindex / 64; ++k) w[k] = ~uint64_t{0};
      if (s.freeindex % 64 != 0) w[s.freeindex / 64] |= (uint64_t{1} << (s.freeindex % 64)) - 1;
      // Bits past nelems mean nothing.
      if (s.nelems % 64 != 0) w[nw - 1] &= (uint64_t{1} << (s.nelems % 64)) - 1;
      uint64_t c = 0;
      for (size_t k = 0; k < nw; ++k) c += static_cast<uint64_t>(__builtin_popcountll(w[k]));
      // allocCount is what the runtime counts allocated (sweep and each allocation keep it):
      // bits or freeindex that disagree are corrupt, and then every slot counts as allocated.
      // One off is a stop between an allocation's freeindex and allocCount updates.
      if (s.alloc_count && (c > *s.alloc_count + 1 || *s.alloc_count > c + 1)) {
        ++inconsistent;
        for (size_t k = 0; k < nw; ++k) w[k] = ~uint64_t{0};
        if (s.nelems % 64 != 0) w[nw - 1] &= (uint64_t{1} << (s.nelems % 64)) - 1;
        c = s.nelems;
      }
      s.allocated = c;
    }
    if (bad > 0) {
      problem(
          fmt::format("{} spans' allocBits unreadable: all their slots counted as allocated", bad));
    }
    if (inconsistent > 0) {
      problem(fmt::format(
          "{} spans' allocBits and freeindex disagree with their allocCount: all their slots "
          "counted as allocated",
          inconsistent));
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
      if (specials_[i] != 0) level.emplace_back(i, specials_[i]);
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
  std::vector<uint64_t> specials_;  // mspan.specials of each span in out_.spans
  uint64_t bitmap_size_ = 0;
};

}  // namespace

uint64_t estimate_heap_capture_bytes(GoRuntime& rt, const HeapOptions& opts) {
  HeapCapture scratch;
  uint64_t bytes = Capturer(rt, opts, scratch).estimate();
  // The heap grows between the estimate and the stop: some slack, within a sane bound (the
  // metadata was read racily).
  constexpr uint64_t kMaxReserve = uint64_t{8} << 30;
  return bytes == 0 ? 0 : std::min(bytes + bytes / 8 + (4 << 20), kMaxReserve);
}

HeapCapture capture_heap(GoRuntime& rt, const HeapOptions& opts,
                         std::span<const Goroutine> goroutines) {
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
  Capturer(rt, opts, out).run();
  out.capture_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace ifx
