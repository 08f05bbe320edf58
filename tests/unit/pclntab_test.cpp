// pclntab over a synthetic table built here in the Go 1.20 layout (runtime/symtab.go).
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/binary/pclntab.h"

namespace {

constexpr uint64_t kText = 0x401000;

struct TableBuilder {
  std::vector<uint8_t> out;
  template <typename T>
  void put(T v) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof v);
    out.insert(out.end(), b, b + sizeof v);
  }
  void bytes(std::initializer_list<uint8_t> b) { out.insert(out.end(), b); }
  void text(std::string_view s) {
    out.insert(out.end(), s.begin(), s.end());
    out.push_back(0);
  }
  void set_u64(size_t at, uint64_t v) { std::memcpy(&out[at], &v, 8); }
  void set_u32(size_t at, uint32_t v) { std::memcpy(&out[at], &v, 4); }
};

// Two functions: main.a at [0,16) with a frame of 8 after its 4-byte prologue, main.b at [16,32).
std::vector<uint8_t> build_table() {
  TableBuilder t;
  t.put<uint32_t>(0xfffffff1);
  t.bytes({0, 0, 1, 8});
  t.put<uint64_t>(2);  // nfunc
  t.put<uint64_t>(1);  // nfiles
  t.put<uint64_t>(0);  // textStart (unused)
  size_t offsets = t.out.size();
  for (int i = 0; i < 5; ++i) t.put<uint64_t>(0);
  t.set_u64(offsets, t.out.size());
  t.text("main.a");
  t.text("main.b");
  t.set_u64(offsets + 8, t.out.size());
  t.put<uint32_t>(0);  // cutab: CU 0, file 0 -> filetab offset 0
  t.set_u64(offsets + 16, t.out.size());
  t.text("/src/x.go");
  size_t pctab = t.out.size();
  t.set_u64(offsets + 24, pctab);
  t.bytes({0});                          // offset 0 means "no table"
  t.bytes({0x02, 0x04, 0x10, 0x0c, 0});  // pcsp: 0 on [0,4), 8 on [4,16)
  uint32_t pcln = 6;
  t.bytes({0x16, 0x10, 0});  // pcln: 10 on [0,16)
  uint32_t pcfile = 9;
  t.bytes({0x02, 0x10, 0});  // pcfile: 0 on [0,16)
  size_t pcln_table = t.out.size();
  t.set_u64(offsets + 32, pcln_table);
  // ftab: {entryoff, funcoff} x (nfunc + 1)
  uint32_t func_a = 24, func_b = 24 + 44;
  for (uint32_t v : {0u, func_a, 16u, func_b, 32u, 0u}) t.put<uint32_t>(v);
  for (uint32_t entry : {0u, 16u}) {
    t.put<uint32_t>(entry);
    t.put<int32_t>(entry == 0 ? 0 : 7);  // nameOff
    t.put<int32_t>(8);                   // args
    t.put<uint32_t>(0);                  // deferreturn
    t.put<uint32_t>(1);                  // pcsp
    t.put<uint32_t>(pcfile);
    t.put<uint32_t>(pcln);
    t.put<uint32_t>(0);     // npcdata
    t.put<uint32_t>(0);     // cuOffset
    t.put<int32_t>(10);     // startLine
    t.bytes({0, 0, 0, 0});  // funcID, flag, pad, nfuncdata
  }
  return t.out;
}

}  // namespace

TEST_CASE("functions, names and pc-value tables") {
  auto data = build_table();
  ifx::Pclntab tab(ifx::Bytes(data), kText);
  CHECK(tab.format() == ifx::PclntabFormat::kGo120);
  CHECK(tab.num_funcs() == 2);
  CHECK(tab.text_end() == kText + 32);

  auto a = tab.find_func(kText + 3);
  REQUIRE(a);
  CHECK(tab.func_name(*a) == "main.a");
  CHECK(a->end == kText + 16);
  CHECK(tab.sp_delta(*a, kText + 3) == 0);
  CHECK(tab.sp_delta(*a, kText + 4) == 8);
  CHECK(tab.line(*a, kText + 15) == 10);
  CHECK(tab.file(*a, kText) == "/src/x.go");
  auto ranges = tab.pc_value_ranges(*a, a->pcsp);
  REQUIRE(ranges.size() == 2);
  CHECK(ranges[1].start == kText + 4);
  CHECK(ranges[1].value == 8);

  auto b = tab.find_func(kText + 16);
  REQUIRE(b);
  CHECK(tab.func_name(*b) == "main.b");
  CHECK(tab.pc_value(*b, 0, kText + 17) == -1);
  CHECK_FALSE(tab.find_func(kText + 32));
  CHECK_FALSE(tab.find_func(kText - 1));
  REQUIRE(tab.find_func_by_name("main.b"));
  CHECK_FALSE(tab.find_func_by_name("main.c"));
}

TEST_CASE("pcs past a table's end are unknown, not errors") {
  auto data = build_table();
  ifx::Pclntab tab(ifx::Bytes(data), kText);
  auto b = tab.find_func(kText + 16);
  REQUIRE(b);
  // main.b reuses main.a's 16-byte tables: they cover main.b, and end before pcs beyond it.
  CHECK(tab.line(*b, kText + 16 + 15) == 10);
  CHECK(tab.pc_value(*b, b->pcln, kText + 16 + 16) == -1);
}

TEST_CASE("corrupt headers fail with a reason") {
  auto data = build_table();
  SUBCASE("old magic") {
    data[0] = 0xfa;
    CHECK_THROWS_WITH_AS(ifx::Pclntab(ifx::Bytes(data), kText),
                         doctest::Contains("older than 1.18"), ifx::Error);
  }
  SUBCASE("huge function count") {
    data[8] = 0xff;
    data[12] = 0xff;
    CHECK_THROWS_AS(ifx::Pclntab(ifx::Bytes(data), kText), ifx::Error);
  }
  SUBCASE("offsets out of order") {
    data[40] = 0xff;  // cuOffset beyond filetabOffset
    CHECK_THROWS_AS(ifx::Pclntab(ifx::Bytes(data), kText), ifx::Error);
  }
  SUBCASE("truncated") {
    data.resize(60);
    CHECK_THROWS_AS(ifx::Pclntab(ifx::Bytes(data), kText), ifx::Error);
  }
}

TEST_CASE("a _func whose entry disagrees with the function table is rejected") {
  auto data = build_table();
  ifx::Pclntab good(ifx::Bytes(data), kText);
  uint64_t pcln_table = 0;
  std::memcpy(&pcln_table, &data[64], 8);
  data[pcln_table + 24] = 0x40;  // main.a's entryOff
  ifx::Pclntab tab(ifx::Bytes(data), kText);
  CHECK_THROWS_WITH_AS(tab.find_func(kText), doctest::Contains("disagrees"), ifx::Error);
}
