// The PT_LOADs ifxray gcore writes: zero runs in anonymous memory are backed by the shared zero
// block for their first kZeroBacked bytes, so readers that take only p_filesz bytes (Delve) can
// read an object whose tail lies in a zero or untouched page.
#include <doctest/doctest.h>
#include <elf.h>

#include <cstring>
#include <set>
#include <vector>

#include "core/target/gcore.h"

namespace {

constexpr uint64_t kPage = 4096;

// Memory whose pages are zero except those listed.
class SparsePages : public ifx::Memory {
 public:
  explicit SparsePages(std::set<uint64_t> nonzero) : nonzero_(std::move(nonzero)) {}
  size_t read(ifx::RemoteAddr addr, std::span<uint8_t> out) override {
    for (size_t i = 0; i < out.size(); ++i) {
      out[i] = nonzero_.contains((addr.value() + i) / kPage * kPage) ? 0xab : 0;
    }
    return out.size();
  }
  std::string why_unreadable(ifx::RemoteAddr, uint64_t) override { return ""; }

 private:
  std::set<uint64_t> nonzero_;
};

// Whether some segment gives file bytes (real or the zero block) for address a.
bool file_backed(const std::vector<ifx::CoreSegment>& segs, uint64_t a) {
  for (const auto& s : segs) {
    if (a >= s.vaddr.value() && a < s.vaddr.value() + s.filesz) return true;
  }
  return false;
}

bool covered(const std::vector<ifx::CoreSegment>& segs, uint64_t a) {
  for (const auto& s : segs) {
    if (a >= s.vaddr.value() && a < s.vaddr.value() + s.memsz) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("zero pages and untouched pages after data are file-backed (zeros) for Delve") {
  const uint64_t base = 0xc000000000;
  // Touched: 4 pages, the 2nd and 4th all zeros; then 300 untouched pages (1.2 MiB).
  std::vector<ifx::PlannedSegment> planned;
  planned.push_back(ifx::PlannedSegment{
      ifx::CoreSegment{ifx::RemoteAddr(base), 304 * kPage, 4 * kPage, PF_R | PF_W}, true});
  SparsePages mem({base, base + 2 * kPage});
  auto segs = ifx::segments_for_core(planned, mem);
  // Every address keeps its place in the address space.
  for (uint64_t a = base; a < base + 304 * kPage; a += kPage) CHECK(covered(segs, a));
  // The zero page inside the data, the zero page after it and the untouched pages up to
  // kZeroBacked past the last data page are readable from the file...
  CHECK(file_backed(segs, base + kPage));
  CHECK(file_backed(segs, base + 3 * kPage));
  CHECK(file_backed(segs, base + 4 * kPage));
  CHECK(file_backed(segs, base + 3 * kPage + ifx::kZeroBacked - 1));
  // ...the rest of a long untouched run is not.
  CHECK_FALSE(file_backed(segs, base + 3 * kPage + ifx::kZeroBacked));
  // Data pages are written as data, zero runs as the shared block.
  for (const auto& s : segs) {
    bool data_page = s.vaddr.value() == base || s.vaddr.value() == base + 2 * kPage;
    CHECK(s.zeros == (!data_page && s.filesz > 0));
  }
}

TEST_CASE("file-backed mappings are left to the file") {
  std::vector<ifx::PlannedSegment> planned;
  planned.push_back(ifx::PlannedSegment{
      ifx::CoreSegment{ifx::RemoteAddr(0x400000), 8 * kPage, kPage, PF_R | PF_W}, false});
  SparsePages mem({});
  auto segs = ifx::segments_for_core(planned, mem);
  REQUIRE(segs.size() == 1);
  CHECK(segs[0].filesz == kPage);
  CHECK_FALSE(segs[0].zeros);
}
