// The classic Go map (runtime/map.go before swiss tables): 2^B buckets of 8 slots, each slot
// alive when its tophash is at least minTopHash; overflow buckets chained from the last word.
// While the map grows, entries not yet moved are still in oldbuckets, whose evacuated buckets
// are marked in tophash[0]; reading both arrays yields every entry exactly once.
#include "core/values/go_map.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/util/bytes.h"

namespace ifx {
namespace {

constexpr uint64_t kSlots = 8;
constexpr uint64_t kMaxInline = 128;  // larger keys and values are stored behind a pointer
constexpr uint8_t kEvacuatedX = 2;
constexpr uint8_t kEvacuatedEmpty = 4;
constexpr uint8_t kMinTopHash = 5;
constexpr uint8_t kSameSizeGrow = 8;
constexpr uint64_t kMaxLog2Buckets = 40;
// A whole-bucket walk of a corrupt header could touch terabytes: refuse beyond this.
constexpr uint64_t kMaxBucketBytes = uint64_t{1} << 32;

uint64_t align_up(uint64_t v, uint64_t a) {
  return a <= 1 ? v : (v + a - 1) / a * a;
}

class Walker {
 public:
  Walker(Memory& mem, const GoMapBucketLayout& layout, size_t max_entries, GoMapContents& out)
      : mem_(mem),
        layout_(layout),
        max_entries_(max_entries),
        out_(out),
        raw_(layout.bucket_size) {}

  // One bucket and its overflow chain; false when reading must stop.
  bool chain(RemoteAddr b, bool old) {
    for (bool first = true; !b.is_null(); first = false) {
      if (budget_ == 0) {
        out_.error = "the map's overflow chains are longer than its size allows (corrupt?)";
        return false;
      }
      --budget_;
      if (mem_.read(b, raw_) != raw_.size()) {
        out_.error =
            fmt::format("bucket at {} is unreadable: {}", b, mem_.why_unreadable(b, raw_.size()));
        return false;
      }
      // An evacuated old bucket's entries live in the new array now; its tail may be cleared.
      if (old && first && raw_[0] >= kEvacuatedX && raw_[0] <= kEvacuatedEmpty) return true;
      for (uint64_t i = 0; i < kSlots; ++i) {
        if (raw_[i] < kMinTopHash) continue;
        if (out_.entries.size() == max_entries_) {
          out_.truncated = true;
          return false;
        }
        GoMapEntry e{b + layout_.keys_offset + i * layout_.key_slot,
                     b + layout_.values_offset + i * layout_.value_slot};
        if (layout_.key_indirect) {
          e.key = RemoteAddr(load_le<uint64_t>(raw_.data() + layout_.keys_offset + i * 8));
        }
        if (layout_.value_indirect) {
          e.value = RemoteAddr(load_le<uint64_t>(raw_.data() + layout_.values_offset + i * 8));
        }
        out_.entries.push_back(e);
      }
      b = RemoteAddr(load_le<uint64_t>(raw_.data() + layout_.overflow_offset));
    }
    return true;
  }

  void set_budget(uint64_t n) { budget_ = n; }

 private:
  Memory& mem_;
  const GoMapBucketLayout& layout_;
  size_t max_entries_;
  GoMapContents& out_;
  std::vector<uint8_t> raw_;
  uint64_t budget_ = 0;
};

}  // namespace

GoMapBucketLayout GoMapBucketLayout::classic(uint64_t key_size, uint64_t key_align,
                                             uint64_t value_size, uint64_t value_align) {
  GoMapBucketLayout l;
  l.key_indirect = key_size > kMaxInline;
  l.value_indirect = value_size > kMaxInline;
  l.key_slot = l.key_indirect ? 8 : key_size;
  l.value_slot = l.value_indirect ? 8 : value_size;
  uint64_t ka = l.key_indirect ? 8 : std::max<uint64_t>(key_align, 1);
  uint64_t va = l.value_indirect ? 8 : std::max<uint64_t>(value_align, 1);
  l.keys_offset = align_up(kSlots, ka);
  l.values_offset = align_up(l.keys_offset + kSlots * l.key_slot, va);
  l.overflow_offset = align_up(l.values_offset + kSlots * l.value_slot, 8);
  l.bucket_size = l.overflow_offset + 8;
  return l;
}

GoMapContents read_go_map(Memory& mem, RemoteAddr hmap, const GoMapBucketLayout& bucket,
                          size_t max_entries, const GoHmapLayout& header) {
  GoMapContents out;
  if (hmap.is_null()) return out;  // a nil map is empty
  std::vector<uint8_t> h(header.size);
  if (mem.read(hmap, h) != h.size()) {
    out.error = fmt::format("map header at {} is unreadable: {}", hmap,
                            mem.why_unreadable(hmap, header.size));
    return out;
  }
  out.count = load_le<uint64_t>(h.data() + header.count);
  uint8_t flags = h[header.flags];
  uint64_t b = h[header.log2_buckets];
  auto buckets = RemoteAddr(load_le<uint64_t>(h.data() + header.buckets));
  auto oldbuckets = RemoteAddr(load_le<uint64_t>(h.data() + header.oldbuckets));
  if (bucket.bucket_size < bucket.overflow_offset + 8 || bucket.bucket_size > 4096) {
    out.error = fmt::format("bad bucket layout (size {})", bucket.bucket_size);
    return out;
  }
  if (b > kMaxLog2Buckets || (uint64_t{1} << b) > kMaxBucketBytes / bucket.bucket_size) {
    out.error = fmt::format("the map claims 2^{} buckets (corrupt?)", b);
    return out;
  }
  uint64_t n = uint64_t{1} << b;
  uint64_t old_n = 0;
  if (!oldbuckets.is_null()) old_n = (flags & kSameSizeGrow) != 0 || b == 0 ? n : n / 2;
  if (buckets.is_null()) return out;  // allocated lazily: no entry yet
  Walker w(mem, bucket, max_entries, out);
  // Every overflow bucket holds at least one entry when it was added; deletions may empty it,
  // so allow a generous multiple before calling a chain corrupt.
  w.set_budget(2 * (n + old_n) + std::min<uint64_t>(out.count, max_entries) + 1024);
  for (uint64_t i = 0; i < old_n; ++i) {
    if (!w.chain(oldbuckets + i * bucket.bucket_size, true)) return out;
  }
  for (uint64_t i = 0; i < n; ++i) {
    if (!w.chain(buckets + i * bucket.bucket_size, false)) return out;
  }
  return out;
}

}  // namespace ifx
