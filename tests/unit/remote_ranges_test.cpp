// merge_nearby: the ranges a capture copies, merged where they lie close together.
#include <doctest/doctest.h>

#include <vector>

#include "core/target/remote.h"

using ifx::merge_nearby;
using ifx::RemoteAddr;
using ifx::RemoteRange;

namespace {

std::vector<std::pair<uint64_t, uint64_t>> plain(const std::vector<RemoteRange>& rs) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const auto& r : rs) out.emplace_back(r.start.value(), r.size);
  return out;
}

}  // namespace

TEST_CASE("merge_nearby sorts and merges ranges closer than the gap, gap bytes included") {
  std::vector<RemoteRange> in{{RemoteAddr(0x3000), 0x60},
                              {RemoteAddr(0x1000), 0x60},
                              {RemoteAddr(0x1100), 0x60},
                              {RemoteAddr(0x9000), 0x10}};
  auto out = merge_nearby(in, 0x1000, 1 << 20);
  // 0x1000..0x1160 and 0x3000..0x3060 are 0x1ea0 apart: more than the gap.
  CHECK(plain(out) == std::vector<std::pair<uint64_t, uint64_t>>{
                          {0x1000, 0x160}, {0x3000, 0x60}, {0x9000, 0x10}});
}

TEST_CASE("merge_nearby keeps a merged range within max_size, and merges overlaps") {
  std::vector<RemoteRange> in{
      {RemoteAddr(0x1000), 0x100}, {RemoteAddr(0x1080), 0x100}, {RemoteAddr(0x1200), 0x100}};
  CHECK(plain(merge_nearby(in, 0, UINT64_MAX)) ==
        std::vector<std::pair<uint64_t, uint64_t>>{{0x1000, 0x180}, {0x1200, 0x100}});
  CHECK(plain(merge_nearby(in, 0x100, 0x200)) ==
        std::vector<std::pair<uint64_t, uint64_t>>{{0x1000, 0x180}, {0x1200, 0x100}});
  CHECK(plain(merge_nearby(in, 0x100, 0x300)) ==
        std::vector<std::pair<uint64_t, uint64_t>>{{0x1000, 0x300}});
}

TEST_CASE("merge_nearby drops empty and wrapping ranges") {
  std::vector<RemoteRange> in{
      {RemoteAddr(0x1000), 0}, {RemoteAddr(UINT64_MAX - 4), 0x10}, {RemoteAddr(0x2000), 8}};
  CHECK(plain(merge_nearby(in)) == std::vector<std::pair<uint64_t, uint64_t>>{{0x2000, 8}});
}
