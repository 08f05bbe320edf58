// Object lookup and pointer scanning over a captured heap, with the pointer metadata of each Go
// version: 1.19's 2-bit arena bitmap, 1.20-1.21's 1-bit arena bitmap, and from 1.22 the span-end
// heap bits (objects <= 512 B), allocation headers (larger small objects) and mspan.largeType.
#include <elf.h>

#include <algorithm>
#include <cstring>

#include "core/heap/heap.h"

namespace ifx {
namespace {

constexpr uint64_t kPageSize = 8192;
constexpr uint64_t kPagesPerArena = 8192;
constexpr uint64_t kArenaBytes = kPageSize * kPagesPerArena;
constexpr uint64_t kArenaBaseOffset = 0xffff800000000000;  // linux/amd64
constexpr uint64_t kMinSizeForMallocHeader = 512;          // goarch.PtrSize * goarch.PtrBits
constexpr uint64_t kInlineMarkBitsSize = 128;              // sizeof(spanInlineMarkBits)
constexpr uint64_t kMaxMaskBytes = 16 << 20;
constexpr uint8_t kTFlagGCMaskOnDemand = 0x10;
constexpr uint8_t kKindGCProg = 0x40;
constexpr size_t kMaxProblems = 100;

uint64_t arena_number(uint64_t addr) {
  return (addr - kArenaBaseOffset) / kArenaBytes;
}

uint64_t load_word(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

}  // namespace

HeapIndex::HeapIndex(GoRuntime& rt, HeapCapture capture) : rt_(rt), cap_(std::move(capture)) {
  problems_ = cap_.problems;
  for (size_t i = 0; i < cap_.spans.size(); ++i) {
    const HeapSpan& s = cap_.spans[i];
    objects_ += s.allocated;
    object_bytes_ += s.allocated * s.elemsize;
    for (uint64_t p = s.start.value(); p < s.end().value(); p += kPageSize) {
      uint64_t a = arena_number(p);
      auto it = std::lower_bound(arenas_.begin(), arenas_.end(), a,
                                 [](const Arena& x, uint64_t n) { return x.number < n; });
      if (it == arenas_.end() || it->number != a) {
        it = arenas_.insert(it, Arena{a, std::vector<uint32_t>(kPagesPerArena, 0)});
      }
      it->page_span[(p / kPageSize) % kPagesPerArena] = static_cast<uint32_t>(i + 1);
    }
  }
}

void HeapIndex::note(std::string problem) const {
  if (problems_.size() < kMaxProblems) {
    problems_.push_back(std::move(problem));
  } else {
    ++dropped_problems_;
  }
}

const HeapIndex::Arena* HeapIndex::arena_for(uint64_t addr) const {
  uint64_t a = arena_number(addr);
  auto it = std::lower_bound(arenas_.begin(), arenas_.end(), a,
                             [](const Arena& x, uint64_t n) { return x.number < n; });
  if (it == arenas_.end() || it->number != a) return nullptr;
  return &*it;
}

const HeapSpan* HeapIndex::span_at(RemoteAddr addr) const {
  const Arena* a = arena_for(addr.value());
  if (a == nullptr) return nullptr;
  uint32_t s = a->page_span[(addr.value() / kPageSize) % kPagesPerArena];
  return s == 0 ? nullptr : &cap_.spans[s - 1];
}

std::optional<HeapObject> HeapIndex::object_at(RemoteAddr addr) const {
  const HeapSpan* s = span_at(addr);
  if (s == nullptr) return std::nullopt;
  uint64_t idx = (addr - s->start) / s->elemsize;
  if (idx >= s->nelems) return std::nullopt;  // the span's tail after its last slot
  const uint64_t* bits = &cap_.alloc_words[s->bits_at];
  if (((bits[idx / 64] >> (idx % 64)) & 1) == 0) return std::nullopt;
  HeapObject o;
  o.base = s->start + idx * s->elemsize;
  o.size = s->elemsize;
  o.span = static_cast<uint32_t>(s - cap_.spans.data());
  o.index = static_cast<uint32_t>(idx);
  return o;
}

void HeapIndex::for_each_object(const std::function<void(const HeapObject&)>& fn) const {
  for (size_t i = 0; i < cap_.spans.size(); ++i) {
    const HeapSpan& s = cap_.spans[i];
    const uint64_t* bits = &cap_.alloc_words[s.bits_at];
    for (uint32_t k = 0; k < s.nelems; ++k) {
      if (((bits[k / 64] >> (k % 64)) & 1) == 0) continue;
      fn(HeapObject{s.start + uint64_t{k} * s.elemsize, s.elemsize, static_cast<uint32_t>(i), k});
    }
  }
}

std::optional<uint64_t> HeapIndex::read_static(RemoteAddr addr, uint64_t size) const {
  if (auto v = read_uint(rt_.memory(), addr, size)) return v;
  // Type descriptors and masks live in the executable's read-only data, which a snapshot does
  // not copy: read them from the file.
  uint64_t link = addr.value() - rt_.bias();
  auto bytes = rt_.binary().elf().file_bytes_at(link, size);
  if (!bytes) return std::nullopt;
  uint64_t v = 0;
  for (uint64_t i = 0; i < size; ++i) v |= uint64_t{(*bytes)[i]} << (8 * i);
  return v;
}

std::optional<uint64_t> HeapIndex::read_static_pointer(RemoteAddr addr) const {
  // A type descriptor in the executable never changes after relocation: take it from the file
  // (with the relocation's addend in a PIE; a core may serve such pages from the file too,
  // unrelocated), else from memory (types made at run time live in the heap).
  if (auto v = rt_.binary().elf().pointer_at(addr.value() - rt_.bias())) {
    return *v == 0 ? 0 : *v + rt_.bias();
  }
  return read_uint(rt_.memory(), addr, 8);
}

bool HeapIndex::in_executable(uint64_t addr) const {
  for (const ElfSegment& seg : rt_.binary().elf().segments()) {
    if (seg.type == PT_LOAD && addr - (seg.vaddr + rt_.bias()) < seg.memsz) return true;
  }
  return false;
}

const HeapIndex::TypeMask* HeapIndex::type_mask(RemoteAddr type) const {
  auto it = types_.find(type.value());
  if (it != types_.end()) return it->second ? &*it->second : nullptr;
  std::optional<TypeMask> out;
  const Layout& l = rt_.layout();
  auto fs = l.field(Fld::kTypeSize), fp = l.field(Fld::kTypePtrBytes),
       ft = l.field(Fld::kTypeTFlag), fg = l.field(Fld::kTypeGCData), fk = l.field(Fld::kTypeKind);
  std::optional<uint64_t> size, ptrdata, tflag, gcdata, kind;
  if (fs && fp && ft && fg) {
    size = read_static(type + fs->offset, fs->size);
    ptrdata = read_static(type + fp->offset, fp->size);
    tflag = read_static(type + ft->offset, ft->size);
    gcdata = read_static_pointer(type + fg->offset);
    if (fk) kind = read_static(type + fk->offset, fk->size);
  }
  if (size && ptrdata && tflag && gcdata && *ptrdata <= *size && *size > 0 &&
      *ptrdata / 64 <= kMaxMaskBytes && !(cap_.go_minor < 24 && kind && (*kind & kKindGCProg))) {
    uint64_t mask_at = *gcdata;
    bool ok = true;
    if (cap_.go_minor >= 24 && (*tflag & kTFlagGCMaskOnDemand) != 0) {
      // GCData points at a word that holds the mask once the runtime built it. While it builds
      // it, the word holds &runtime.inProgress, a byte of the executable's own data; a built
      // mask comes from persistentalloc, outside the executable. Not built: unknown.
      auto p = read_static(RemoteAddr(*gcdata), 8);
      ok = p && *p != 0 && !in_executable(*p);
      mask_at = p.value_or(0);
    }
    if (ok) {
      TypeMask t;
      t.size = *size;
      t.ptrdata = *ptrdata;
      t.mask.resize((*ptrdata / 8 + 7) / 8);
      size_t got = rt_.memory().read(RemoteAddr(mask_at), t.mask);
      if (got < t.mask.size()) {
        auto bytes = rt_.binary().elf().file_bytes_at(mask_at - rt_.bias(), t.mask.size());
        if (bytes) {
          std::memcpy(t.mask.data(), bytes->data(), t.mask.size());
          got = t.mask.size();
        }
      }
      if (got == t.mask.size()) out = std::move(t);
    }
  }
  auto [pos, inserted] = types_.emplace(type.value(), std::move(out));
  return pos->second ? &*pos->second : nullptr;
}

void HeapIndex::conservative(const HeapObject& obj, const uint8_t* bytes,
                             const PointerFn& fn) const {
  ++conservative_objects_;
  for (uint64_t off = 0; off + 8 <= obj.size; off += 8) {
    uint64_t v = load_word(bytes + off);
    if (v != 0) fn(obj.base + off, RemoteAddr(v));
  }
}

void HeapIndex::tile(const TypeMask& t, RemoteAddr from, uint64_t len, const uint8_t* bytes,
                     const PointerFn& fn) const {
  uint64_t words = t.ptrdata / 8;
  for (uint64_t elem = 0; elem < len; elem += t.size) {
    for (uint64_t w = 0; w < words; ++w) {
      if (((t.mask[w / 8] >> (w % 8)) & 1) == 0) continue;
      uint64_t off = elem + w * 8;
      if (off + 8 > len) return;
      uint64_t v = load_word(bytes + off);
      if (v != 0) fn(from + off, RemoteAddr(v));
    }
  }
}

bool HeapIndex::heap_bits_small(const HeapSpan& s, const HeapObject& obj, const uint8_t* bytes,
                                const PointerFn& fn) const {
  if (span_bits_of_ != obj.span) {
    uint64_t span_size = s.bytes();
    uint64_t bits_size = span_size / 8 / 8;
    uint64_t at = span_size - bits_size;
    if (cap_.inline_mark_bits && s.elemsize >= 16) at -= kInlineMarkBitsSize;
    span_bits_.resize(bits_size);
    if (!rt_.memory().read_exact(s.start + at, span_bits_)) return false;
    span_bits_of_ = obj.span;
  }
  uint64_t w0 = (obj.base - s.start) / 8;
  for (uint64_t w = 0; w < obj.size / 8; ++w) {
    uint64_t bit = w0 + w;
    if (((span_bits_[bit / 8] >> (bit % 8)) & 1) == 0) continue;
    uint64_t v = load_word(bytes + w * 8);
    if (v != 0) fn(obj.base + w * 8, RemoteAddr(v));
  }
  return true;
}

bool HeapIndex::arena_bitmap(const HeapObject& obj, const uint8_t* bytes,
                             const PointerFn& fn) const {
  bool two_bit = cap_.go_minor <= 19;
  uint64_t words_per_byte = two_bit ? 4 : 8;
  uint64_t w = 0, n = obj.size / 8;
  while (w < n) {
    uint64_t addr = obj.base.value() + w * 8;
    uint64_t a = arena_number(addr);
    auto it = std::find_if(cap_.arena_bitmaps.begin(), cap_.arena_bitmaps.end(),
                           [&](const auto& p) { return p.first == a; });
    if (it == cap_.arena_bitmaps.end()) return false;
    uint64_t wi = ((addr - kArenaBaseOffset) % kArenaBytes) / 8;
    uint64_t in_arena = std::min(n - w, kArenaBytes / 8 - wi);
    uint64_t first = wi / words_per_byte;
    uint64_t last = (wi + in_arena - 1) / words_per_byte;
    scratch_.resize(last - first + 1);
    if (!rt_.memory().read_exact(it->second + first, scratch_)) return false;
    for (uint64_t k = 0; k < in_arena; ++k) {
      uint64_t x = wi + k;
      uint8_t b = scratch_[x / words_per_byte - first];
      unsigned shift = static_cast<unsigned>(x % words_per_byte);
      if (two_bit) {
        if (((b >> (shift + 4)) & 1) == 0) return true;  // "dead": no more pointers
        if (((b >> shift) & 1) == 0) continue;
      } else if (((b >> shift) & 1) == 0) {
        continue;
      }
      uint64_t v = load_word(bytes + (w + k) * 8);
      if (v != 0) fn(RemoteAddr(addr + k * 8), RemoteAddr(v));
    }
    w += in_arena;
  }
  return true;
}

bool HeapIndex::for_each_pointer(const HeapObject& obj, const PointerFn& fn) const {
  // The words are collected first and handed out after: a callback may scan other objects,
  // which reuses the metadata buffers.
  // The outermost call reuses one vector; nested calls (from a callback) get their own.
  std::vector<std::pair<RemoteAddr, RemoteAddr>> local;
  auto& found = depth_ == 0 ? found_ : local;
  found.clear();
  PointerFn collect = [&](RemoteAddr slot, RemoteAddr value) { found.emplace_back(slot, value); };
  bool ok = scan_object(obj, collect);
  ++depth_;
  struct Leave {
    int& d;
    ~Leave() { --d; }
  } leave{depth_};
  for (const auto& [slot, value] : found) fn(slot, value);
  return ok;
}

bool HeapIndex::scan_object(const HeapObject& obj, const PointerFn& fn) const {
  if (obj.span >= cap_.spans.size()) return false;
  const HeapSpan& s = cap_.spans[obj.span];
  if (s.noscan()) return true;
  // In place when the snapshot holds the span's copy (no copy of every object), else read.
  const uint8_t* bytes = rt_.memory().view(obj.base, obj.size);
  if (bytes == nullptr) {
    std::vector<uint8_t>& buf = object_buf_;
    buf.resize(obj.size);
    size_t got = rt_.memory().read(obj.base, buf);
    if (got < obj.size) {
      note(fmt::format("object {} ({} bytes) unreadable: {}", obj.base, obj.size,
                       rt_.memory().why_unreadable(obj.base + got, obj.size - got)));
      return false;
    }
    bytes = buf.data();
  }
  if (cap_.go_minor <= 21) {
    if (!arena_bitmap(obj, bytes, fn)) conservative(obj, bytes, fn);
    return true;
  }
  if (!s.large() && s.elemsize <= kMinSizeForMallocHeader) {
    if (!heap_bits_small(s, obj, bytes, fn)) conservative(obj, bytes, fn);
    return true;
  }
  RemoteAddr type;
  uint64_t data = 0;
  if (!s.large()) {
    type = RemoteAddr(load_word(bytes));  // the allocation header
    data = 8;
  } else {
    type = s.large_type;
  }
  if (type.is_null()) return true;  // allocated, type not yet set: nothing to scan (mallocgc)
  const TypeMask* t = type_mask(type);
  if (t == nullptr) {
    conservative(obj, bytes, fn);
    return true;
  }
  tile(*t, obj.base + data, obj.size - data, bytes + data, fn);
  return true;
}

std::optional<HeapIndex::RecordedType> HeapIndex::recorded_type(const HeapObject& obj) const {
  if (cap_.go_minor <= 21 || obj.span >= cap_.spans.size()) return std::nullopt;
  const HeapSpan& s = cap_.spans[obj.span];
  if (s.noscan()) return std::nullopt;
  if (s.large()) {
    if (s.large_type.is_null()) return std::nullopt;
    return RecordedType{s.large_type, obj.base, obj.size};
  }
  if (s.elemsize <= kMinSizeForMallocHeader) return std::nullopt;
  auto header = rt_.memory().read_u64(obj.base);
  if (!header || *header == 0) return std::nullopt;  // allocated, type not yet set (mallocgc)
  return RecordedType{RemoteAddr(*header), obj.base + 8, obj.size - 8};
}

}  // namespace ifx
