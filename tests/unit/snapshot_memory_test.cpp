// SnapshotMemory over a fake source, and ProcessMemory on ifxray's own memory (partial reads).
#include <doctest/doctest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <vector>

#include "core/target/process_memory.h"
#include "core/target/snapshot_memory.h"

using ifx::ReadRequest;
using ifx::RemoteAddr;
using ifx::RemoteRange;

namespace {

// 64 KiB at 0x10000 whose byte at a is (a & 0xff); counts the calls it serves.
class FakeMemory : public ifx::Memory {
 public:
  size_t read(RemoteAddr addr, std::span<uint8_t> out) override {
    size_t n = 0;
    for (; n < out.size(); ++n) {
      uint64_t a = addr.value() + n;
      if (a < kStart || a >= kStart + kSize) break;
      out[n] = static_cast<uint8_t>(a & 0xff);
    }
    return n;
  }
  void read_many(std::span<ReadRequest> requests) override {
    ++batches;
    for (auto& r : requests) r.done = read(r.addr, r.out);
  }
  std::string why_unreadable(RemoteAddr, uint64_t) override { return "not mapped"; }

  static constexpr uint64_t kStart = 0x10000, kSize = 0x10000;
  int batches = 0;
};

bool pattern_ok(RemoteAddr at, std::span<const uint8_t> b) {
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i] != static_cast<uint8_t>((at.value() + i) & 0xff)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("snapshot keeps exact ranges and serves them after freeze") {
  FakeMemory src;
  ifx::SnapshotMemory snap(src);
  std::vector<uint8_t> buf(100);
  CHECK(snap.read(RemoteAddr(0x10010), buf) == 100);
  CHECK(pattern_ok(RemoteAddr(0x10010), buf));
  CHECK(snap.kept_bytes() == 100);  // not a whole page
  CHECK(snap.read(RemoteAddr(0x10020), std::span(buf).first(50)) == 50);
  CHECK(src.batches == 1);  // served from the snapshot
  snap.freeze();
  CHECK(snap.read(RemoteAddr(0x10010), buf) == 100);
  CHECK(pattern_ok(RemoteAddr(0x10010), buf));
  CHECK(snap.read(RemoteAddr(0x10070), buf) == 4);  // 0x10070..0x10074 kept, then nothing
  CHECK(snap.why_unreadable(RemoteAddr(0x10070), 100) == "not captured in the snapshot");
  CHECK(snap.read(RemoteAddr(0x20000), buf) == 0);
}

TEST_CASE("snapshot remembers why a live read failed") {
  FakeMemory src;
  ifx::SnapshotMemory snap(src);
  std::vector<uint8_t> buf(32);
  CHECK(snap.read(RemoteAddr(0x1fff0), buf) == 16);
  snap.freeze();
  CHECK(snap.read(RemoteAddr(0x1fff0), buf) == 16);
  CHECK(snap.why_unreadable(RemoteAddr(0x1fff0), 32) == "not mapped");
}

TEST_CASE("snapshot merges overlapping ranges and appends sequential reads") {
  FakeMemory src;
  ifx::SnapshotMemory snap(src);
  std::vector<uint8_t> buf(64);
  for (uint64_t a = 0x11000; a < 0x12000; a += 64) snap.read(RemoteAddr(a), buf);
  CHECK(snap.kept_ranges() == 1);
  CHECK(snap.kept_bytes() == 0x1000);
  snap.read(RemoteAddr(0x13000), buf);
  snap.read(RemoteAddr(0x13100), buf);
  CHECK(snap.kept_ranges() == 3);
  std::vector<uint8_t> big(0x200);
  CHECK(snap.read(RemoteAddr(0x12f80), big) == 0x200);  // overlaps both: one merged range
  CHECK(snap.kept_ranges() == 2);
  CHECK(snap.kept_bytes() == 0x1000 + 0x200);
  snap.freeze();
  std::vector<uint8_t> all(0x1000);
  CHECK(snap.read(RemoteAddr(0x11000), all) == 0x1000);
  CHECK(pattern_ok(RemoteAddr(0x11000), all));
  CHECK(snap.read(RemoteAddr(0x12f80), big) == 0x200);
  CHECK(pattern_ok(RemoteAddr(0x12f80), big));
}

TEST_CASE("read_many and capture go to the source in one batch") {
  FakeMemory src;
  ifx::SnapshotMemory snap(src);
  std::vector<RemoteRange> ranges;
  for (int i = 0; i < 50; ++i) ranges.push_back(RemoteRange{RemoteAddr(0x10000 + i * 0x200), 0x80});
  ranges.push_back(RemoteRange{RemoteAddr(0x1ffc0), 0x80});  // runs off the end
  snap.capture(ranges);
  CHECK(src.batches == 1);
  CHECK(snap.kept_bytes() == 50 * 0x80 + 0x40);
  snap.capture(ranges);  // all kept already or known unreadable: nothing to read
  CHECK(src.batches == 1);
  snap.freeze();
  std::vector<uint8_t> a(0x80), b(0x80);
  std::vector<ReadRequest> reqs{{RemoteAddr(0x10200), a, 0}, {RemoteAddr(0x1ffc0), b, 0}};
  snap.read_many(reqs);
  CHECK(reqs[0].done == 0x80);
  CHECK(reqs[1].done == 0x40);
  CHECK(pattern_ok(RemoteAddr(0x10200), a));
}

TEST_CASE("process memory reads around a hole, in one system call per batch") {
  const size_t page = 4096;
  void* map = ::mmap(nullptr, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(map != MAP_FAILED);
  auto* p = static_cast<uint8_t*>(map);
  for (size_t i = 0; i < 3 * page; ++i) p[i] = static_cast<uint8_t>(i * 13);
  ::munmap(p + page, page);  // a hole in the middle
  auto base = RemoteAddr(reinterpret_cast<uintptr_t>(p));
  ifx::ProcessMemory mem(::getpid(), {});
  std::vector<uint8_t> a(100), b(2 * page), c(100), d(100);
  std::vector<ReadRequest> reqs{{base, a, 0},
                                {base + (page - 50), b, 0},  // 50 readable bytes, then the hole
                                {base + 2 * page, c, 0},
                                {base + page + 10, d, 0}};  // in the hole
  mem.read_many(reqs);
  CHECK(reqs[0].done == 100);
  CHECK(reqs[1].done == 50);
  CHECK(reqs[2].done == 100);
  CHECK(reqs[3].done == 0);
  CHECK(std::memcmp(a.data(), p, 100) == 0);
  CHECK(std::memcmp(b.data(), p + page - 50, 50) == 0);
  CHECK(std::memcmp(c.data(), p + 2 * page, 100) == 0);
  CHECK(mem.bytes_read() == 250);
  CHECK(mem.syscalls() <= 5);
  ::munmap(p, page);
  ::munmap(p + 2 * page, page);
}

namespace {

// 8 MiB at 0x1000000 whose byte at a is (a & 0xff) ^ (a >> 12 & 0xff): big enough to overflow a
// snapshot reserve (at least 2 MiB), and every 4 KiB page differs.
class BigFake : public ifx::Memory {
 public:
  static uint8_t at(uint64_t a) { return static_cast<uint8_t>((a & 0xff) ^ ((a >> 12) & 0xff)); }
  size_t read(RemoteAddr addr, std::span<uint8_t> out) override {
    size_t n = 0;
    for (; n < out.size(); ++n) {
      uint64_t a = addr.value() + n;
      if (a < kStart || a >= kStart + kSize) break;
      out[n] = at(a);
    }
    return n;
  }
  std::string why_unreadable(RemoteAddr, uint64_t) override { return "not mapped"; }
  static constexpr uint64_t kStart = 0x1000000, kSize = 8 << 20;
};

bool big_ok(uint64_t addr, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != BigFake::at(addr + i)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("a capture larger than the reserve fills the reserve; only the rest is mapped anew") {
  BigFake src;
  ifx::SnapshotMemory snap(src);
  const size_t reserve = 2 << 20;
  auto* buf = static_cast<uint8_t*>(ifx::allocate_populated_snapshot_buffer(reserve));
  REQUIRE(buf != nullptr);
  const size_t reserve_size = ifx::populated_snapshot_buffer_size(reserve);
  snap.give_reserve(buf, reserve);
  const uint64_t mib = 1 << 20;
  // Three 1 MiB ranges, given out of order: the two lowest fit in the reserve.
  std::vector<RemoteRange> ranges{{RemoteAddr(BigFake::kStart + 2 * mib), mib},
                                  {RemoteAddr(BigFake::kStart), mib},
                                  {RemoteAddr(BigFake::kStart + mib), mib}};
  snap.capture(ranges);
  CHECK(snap.reserve_used() == 2 * mib);
  CHECK(snap.unreserved_bytes() == mib);
  CHECK(snap.kept_bytes() == 3 * mib);
  const uint8_t* first = snap.view(RemoteAddr(BigFake::kStart), mib);
  const uint8_t* second = snap.view(RemoteAddr(BigFake::kStart + mib), mib);
  const uint8_t* third = snap.view(RemoteAddr(BigFake::kStart + 2 * mib), mib);
  REQUIRE(first != nullptr);
  REQUIRE(second != nullptr);
  REQUIRE(third != nullptr);
  CHECK((first >= buf && first + mib <= buf + reserve_size));
  CHECK((second >= buf && second + mib <= buf + reserve_size));
  CHECK((third < buf || third >= buf + reserve_size));
  CHECK(big_ok(BigFake::kStart, first, mib));
  CHECK(big_ok(BigFake::kStart + mib, second, mib));
  CHECK(big_ok(BigFake::kStart + 2 * mib, third, mib));
  // A second batch finds the reserve used up: all of it in a new mapping.
  std::vector<RemoteRange> more{{RemoteAddr(BigFake::kStart + 4 * mib), 4096}};
  snap.capture(more);
  CHECK(snap.reserve_used() == 2 * mib);
  CHECK(snap.unreserved_bytes() == mib + 4096);
  snap.freeze();
  // Reads across the seam between the reserve and the new mapping.
  std::vector<uint8_t> seam(64);
  CHECK(snap.read(RemoteAddr(BigFake::kStart + 2 * mib - 32), seam) == 64);
  CHECK(big_ok(BigFake::kStart + 2 * mib - 32, seam.data(), seam.size()));
}

TEST_CASE("view serves captured bytes in place, only within one captured range") {
  FakeMemory src;
  ifx::SnapshotMemory snap(src);
  std::vector<RemoteRange> ranges{{RemoteAddr(0x10000), 0x100}, {RemoteAddr(0x10100), 0x100}};
  snap.capture(ranges);
  std::vector<uint8_t> buf(0x10);
  CHECK(snap.read(RemoteAddr(0x10400), buf) == 0x10);  // kept by a read, not a capture
  snap.freeze();
  const uint8_t* v = snap.view(RemoteAddr(0x10010), 0x20);
  REQUIRE(v != nullptr);
  CHECK(pattern_ok(RemoteAddr(0x10010), std::span<const uint8_t>(v, 0x20)));
  CHECK(snap.view(RemoteAddr(0x100f0), 0x20) == nullptr);  // spans two captured ranges
  CHECK(snap.view(RemoteAddr(0x10400), 0x10) == nullptr);  // a read's copy may move: no view
  CHECK(snap.view(RemoteAddr(0x20000), 8) == nullptr);
  CHECK(snap.read(RemoteAddr(0x100f0), std::span(buf).first(0x10)) == 0x10);  // read still works
}
