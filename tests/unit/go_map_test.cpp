// read_go_map over a map laid out in a fake memory as the Go runtime lays out map[uint64]uint64:
// a growing map (old buckets partly evacuated), overflow chains, corrupt headers.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "core/values/go_map.h"
#include "tests/unit/window_memory.h"

using ifx::GoMapBucketLayout;
using ifx::RemoteAddr;

namespace {

using MapMemory = ifx::test::WindowMemory<0x100000, 0x100000>;

const GoMapBucketLayout kU64 = GoMapBucketLayout::classic(8, 8, 8, 8);

// Puts key k -> k * 10 in slot i of the bucket at b.
void put_entry(MapMemory& m, uint64_t b, int i, uint64_t k) {
  m.put8(b + i, 5 + static_cast<uint8_t>(k % 200));  // any tophash >= minTopHash
  m.put64(b + kU64.keys_offset + i * 8, k);
  m.put64(b + kU64.values_offset + i * 8, k * 10);
}

std::map<uint64_t, uint64_t> contents(MapMemory& m, const ifx::GoMapContents& c) {
  std::map<uint64_t, uint64_t> out;
  for (const auto& e : c.entries) {
    uint64_t k = 0, v = 0;
    m.read(e.key, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&k), 8));
    m.read(e.value, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), 8));
    CHECK(out.emplace(k, v).second);  // each entry once
  }
  return out;
}

}  // namespace

TEST_CASE("go map: the compiler's bucket layouts") {
  // The byte sizes of the bucket<K,V> types in a go1.19 binary's DWARF: map[uint64]uint64 144,
  // map[string]string 272, map[uint8]bool 32, map[struct{x [25]uint64}]uint32 112.
  CHECK(kU64.bucket_size == 144);
  CHECK(kU64.values_offset == 72);
  CHECK(GoMapBucketLayout::classic(16, 8, 16, 8).bucket_size == 272);
  CHECK(GoMapBucketLayout::classic(1, 1, 1, 1).bucket_size == 32);
  auto big = GoMapBucketLayout::classic(200, 8, 4, 4);
  CHECK(big.key_indirect);
  CHECK(big.key_slot == 8);
  CHECK(big.bucket_size == 8 + 64 + 32 + 8);
}

TEST_CASE("go map: a growing map yields new buckets and unevacuated old ones, each entry once") {
  MapMemory m;
  const uint64_t hmap = 0x100000, buckets = 0x101000, old = 0x102000, overflow = 0x103000;
  m.put64(hmap, 7);     // count
  m.put8(hmap + 9, 2);  // B = 2: 4 buckets, growing from 2
  m.put64(hmap + 16, buckets);
  m.put64(hmap + 24, old);
  // Old bucket 0 evacuated (its slots marked evacuatedX/Y, its data cleared but for garbage).
  m.put8(old, 2);
  m.put8(old + 1, 3);
  m.put64(old + kU64.keys_offset, 999);
  // Old bucket 1 not evacuated yet: two entries and one overflow bucket with one more.
  put_entry(m, old + 144, 0, 11);
  put_entry(m, old + 144, 3, 12);
  m.put64(old + 144 + kU64.overflow_offset, overflow);
  put_entry(m, overflow, 7, 13);
  // New buckets: what bucket 0's evacuation moved (1, 2) and later inserts (3, 4).
  put_entry(m, buckets, 0, 1);
  put_entry(m, buckets + 2 * 144, 5, 2);
  put_entry(m, buckets + 3 * 144, 0, 3);
  put_entry(m, buckets + 3 * 144, 1, 4);
  m.put8(buckets + 3 * 144 + 2, 1);  // emptyOne: a deleted slot
  auto c = ifx::read_go_map(m, RemoteAddr(hmap), kU64, 100);
  CHECK(c.error.empty());
  CHECK(c.count == 7);
  CHECK(contents(m, c) == std::map<uint64_t, uint64_t>{
                              {1, 10}, {2, 20}, {3, 30}, {4, 40}, {11, 110}, {12, 120}, {13, 130}});
  auto cut = ifx::read_go_map(m, RemoteAddr(hmap), kU64, 3);
  CHECK(cut.truncated);
  CHECK(cut.entries.size() == 3);
}

TEST_CASE("go map: nil, unallocated, corrupt and cyclic maps end with a reason, never a hang") {
  MapMemory m;
  CHECK(ifx::read_go_map(m, RemoteAddr(0), kU64, 10).entries.empty());
  const uint64_t hmap = 0x100000, buckets = 0x101000;
  m.put64(hmap, 0);  // make(map) without entries: buckets may be nil
  CHECK(ifx::read_go_map(m, RemoteAddr(hmap), kU64, 10).error.empty());
  m.put8(hmap + 9, 60);  // B = 60
  m.put64(hmap + 16, buckets);
  CHECK(!ifx::read_go_map(m, RemoteAddr(hmap), kU64, 10).error.empty());
  m.put8(hmap + 9, 0);
  m.put64(buckets + kU64.overflow_offset, buckets);  // an overflow chain that loops
  put_entry(m, buckets, 0, 1);
  auto loop = ifx::read_go_map(m, RemoteAddr(hmap), kU64, 1 << 20);
  CHECK(!loop.error.empty());
  CHECK(loop.entries.size() < 2000);
  CHECK(!ifx::read_go_map(m, RemoteAddr(0x900000), kU64, 10).error.empty());  // unreadable
}
