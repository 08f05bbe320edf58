// The value reader and the pitfalls walk over a fake memory with hand-made types: previews of
// strings, slices, structs and pointers with their bounds, damaged values said as such, and the
// walk's shared visited set (each value once per run, again only when reached less deep), and
// variables placed in registers (amd64 DWARF numbering) read from a running thread's registers.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/analysis/pitfalls.h"
#include "core/analysis/typed_nil_walk.h"
#include "core/analysis/variables.h"
#include "core/values/value_reader.h"
#include "tests/unit/window_memory.h"

using ifx::GoType;
using ifx::Kind;
using ifx::RemoteAddr;
using ifx::ValueReader;

namespace {

using FakeMemory = ifx::test::WindowMemory<0x10000, 0x10000>;

GoType scalar(Kind k, std::string name, uint64_t size) {
  GoType t;
  t.kind = k;
  t.name = std::move(name);
  t.size = size;
  t.resolved = true;
  return t;
}

struct Types {
  GoType int_t = scalar(Kind::kInt, "int", 8);
  GoType string_t = scalar(Kind::kString, "string", 16);
  GoType error_t = scalar(Kind::kInterface, "error", 16);
  GoType slice_int = scalar(Kind::kSlice, "[]int", 24);
  GoType node = scalar(Kind::kStruct, "main.Node", 24);  // {Next *Node; Err error}
  GoType node_ptr = scalar(Kind::kPointer, "*main.Node", 8);
  Types() {
    slice_int.elem = &int_t;
    node_ptr.elem = &node;
    node.fields = {{"Next", &node_ptr, 0, false}, {"Err", &error_t, 8, false}};
  }
};

constexpr uint64_t A = FakeMemory::kBase;

}  // namespace

TEST_CASE("value reader: strings quoted, escaped and cut at the bound") {
  FakeMemory m;
  ifx::ValueLimits limits;
  limits.max_string = 8;
  ValueReader r(m, limits);
  Types t;
  m.put64(A, A + 0x100);
  m.put64(A + 8, 4);
  m.put(A + 0x100, "a\t\"b");
  CHECK(r.render(&t.string_t, RemoteAddr(A)) == R"("a\t\"b")");
  m.put64(A + 8, 20);
  m.put(A + 0x100, "0123456789abcdefghij");
  CHECK(r.render(&t.string_t, RemoteAddr(A)) == R"("01234567"...+12 more)");
  // Data outside memory: unreadable with the reason; nil data with a length: bad.
  m.put64(A, 0x900000);
  CHECK(r.render(&t.string_t, RemoteAddr(A)) == "<unreadable at 0x900000: not mapped>");
  m.put64(A, 0);
  CHECK(r.render(&t.string_t, RemoteAddr(A)) == "<bad string: nil data, len 20>");
}

TEST_CASE("value reader: slices bounded, damaged headers said") {
  FakeMemory m;
  ValueReader r(m);
  Types t;
  m.put64(A, A + 0x100);
  m.put64(A + 8, 3);
  m.put64(A + 16, 4);
  for (uint64_t i = 0; i < 3; ++i) m.put64(A + 0x100 + 8 * i, 10 + i);
  CHECK(r.render(&t.slice_int, RemoteAddr(A)) == "len: 3, cap: 4, [10, 11, 12]");
  m.put64(A + 8, 5);
  m.put64(A + 16, 2);
  CHECK(r.render(&t.slice_int, RemoteAddr(A)) == "<bad slice: len 5 > cap 2>");
  // 2^40 elements claimed: a bounded preview, the rest counted, nothing allocated for them.
  m.put64(A + 8, uint64_t{1} << 40);
  m.put64(A + 16, uint64_t{1} << 40);
  std::string s = r.render(&t.slice_int, RemoteAddr(A));
  CHECK(s.find("...+1099511627768 more]") != std::string::npos);
  CHECK(r.render(&t.slice_int, RemoteAddr(0x900000)) == "<unreadable at 0x900000: not mapped>");
}

TEST_CASE("value reader: cyclic pointers end at the depth bound; interfaces need types") {
  FakeMemory m;
  ValueReader r(m);
  Types t;
  m.put64(A, A);  // Node.Next points to itself; Err is a nil interface
  // Pointers are followed to --max-depth (2), then shown as addresses.
  CHECK(r.render(&t.node, RemoteAddr(A)) ==
        "{Next: 0x10000 {Next: 0x10000, Err: error nil}, Err: error nil}");
  m.put64(A + 8, A + 0x200);  // a type word, but no type descriptors to read it with
  CHECK(r.render(&t.error_t, RemoteAddr(A + 8)) ==
        "error(<unreadable: no runtime type descriptors>)");
  ifx::InterfaceValue v = r.interface_value(&t.error_t, RemoteAddr(A + 8));
  CHECK_FALSE(v.typed_nil());
}

TEST_CASE("typed nil: a nil-able pointer shape with a nil data word") {
  Types t;
  GoType map_t = scalar(Kind::kMap, "map[string]int", 8);
  map_t.direct_iface = true;
  GoType ptr = t.node_ptr;
  ptr.direct_iface = true;
  ifx::InterfaceValue v;
  v.dynamic = &ptr;
  CHECK(v.typed_nil());
  v.data_word = 0xc000010000;
  CHECK_FALSE(v.typed_nil());
  v.data_word = 0;
  v.dynamic = &map_t;
  CHECK(v.typed_nil());
  v.dynamic = &t.int_t;  // an int 0 in an interface is a value, not a typed nil
  CHECK_FALSE(v.typed_nil());
  v.dynamic = &ptr;
  v.nil = true;
  CHECK_FALSE(v.typed_nil());
}

TEST_CASE("pitfalls walk: one visited set for all roots, revisited only less deep") {
  FakeMemory m;
  ValueReader r(m);
  Types t;
  // A chain of 5 nodes, the last pointing back to the first.
  constexpr uint64_t n = 5;
  for (uint64_t i = 0; i < n; ++i) m.put64(A + 0x100 * i, A + 0x100 * ((i + 1) % n));
  ifx::PitfallOptions opts;
  ifx::report::Pitfalls out;
  ifx::TypedNilWalker w(opts, out);
  w.walk_root(r, &t.node, RemoteAddr(A), "global main.a");
  uint64_t first = out.values_visited;
  CHECK(first == 3 * n);  // each node, its Next and its Err once: the cycle ends
  // A second root reaching the same nodes walks only itself.
  m.put64(A + 0x1000, A);
  w.walk_root(r, &t.node_ptr, RemoteAddr(A + 0x1000), "global main.b");
  CHECK(out.values_visited == first + 1);
  CHECK(out.pitfalls.empty());
  CHECK(out.warnings.empty());

  // Reached first at the depth bound (children cut), then from a shallower root: walked again.
  ifx::PitfallOptions shallow;
  shallow.max_depth = 1;
  ifx::report::Pitfalls out2;
  ifx::TypedNilWalker w2(shallow, out2);
  w2.walk_root(r, &t.node, RemoteAddr(A), "global main.a");  // node 1 at depth 1, node 2 cut
  uint64_t before = out2.values_visited;
  // Node 1 again, now at depth 0: walked again, and node 2 behind it for the first time.
  w2.walk_root(r, &t.node, RemoteAddr(A + 0x100), "global main.c");
  CHECK(out2.values_visited == before + 6);
}

TEST_CASE("pitfalls walk: --max-values warns once") {
  FakeMemory m;
  ValueReader r(m);
  Types t;
  for (uint64_t i = 0; i < 4; ++i) m.put64(A + 0x100 * i, A + 0x100 * (i + 1));
  ifx::PitfallOptions opts;
  opts.max_values = 3;
  ifx::report::Pitfalls out;
  ifx::TypedNilWalker w(opts, out);
  w.walk_root(r, &t.node, RemoteAddr(A), "global main.a");
  w.walk_root(r, &t.node, RemoteAddr(A + 0x800), "global main.b");
  CHECK(out.values_visited == 3);
  CHECK(out.stopped_at_max_values);
  CHECK(out.warnings.size() == 1);
}

TEST_CASE("variables in registers: read from a running thread's registers, else unavailable") {
  FakeMemory m;
  Types t;
  user_regs_struct regs{};
  regs.rax = A + 0x40;  // DWARF register 0: the interface's type word
  regs.rbx = 0;         // DWARF register 3: its data word
  regs.r14 = 77;        // DWARF register 14
  std::vector<ifx::VarPiece> iface = {{8, std::nullopt, 0u}, {8, std::nullopt, 3u}};

  ifx::ResolvedVariable parked;
  parked.type = &t.error_t;
  ifx::resolve_pieces(m, iface, parked, nullptr);
  CHECK(parked.unavailable == "in a register, unavailable");
  CHECK_FALSE(parked.addr);

  ifx::ResolvedVariable running;
  running.type = &t.error_t;
  ifx::resolve_pieces(m, iface, running, &regs);
  REQUIRE(running.addr);
  REQUIRE(running.assembled);
  CHECK(running.assembled->read_u64(*running.addr) == A + 0x40);
  CHECK(running.assembled->read_u64(*running.addr + 8) == 0);

  // A whole int in one register (a piece without size), one in a stack slot and one in a
  // register, and a vector register (not in the general set).
  ifx::ResolvedVariable n;
  n.type = &t.int_t;
  ifx::resolve_pieces(m, {{0, std::nullopt, 14u}}, n, &regs);
  REQUIRE(n.addr);
  CHECK(n.assembled->read_u64(*n.addr) == 77);
  m.put64(A + 0x80, A + 0x40);
  ifx::ResolvedVariable mixed;
  mixed.type = &t.error_t;
  ifx::resolve_pieces(m, {{8, A + 0x80, std::nullopt}, {8, std::nullopt, 14u}}, mixed, &regs);
  REQUIRE(mixed.addr);
  CHECK(mixed.assembled->read_u64(*mixed.addr) == A + 0x40);
  CHECK(mixed.assembled->read_u64(*mixed.addr + 8) == 77);
  ifx::ResolvedVariable xmm;
  xmm.type = &t.int_t;
  ifx::resolve_pieces(m, {{8, std::nullopt, 17u}}, xmm, &regs);
  CHECK(xmm.unavailable == "in register 17, not read");
}

TEST_CASE("map buckets found as heap objects: live slots only, classic overflow chains") {
  FakeMemory m;
  ValueReader r(m);
  Types t;
  GoType u8 = scalar(Kind::kUint8, "uint8", 1);
  GoType top = scalar(Kind::kArray, "[8]uint8", 8);
  top.elem = &u8;
  top.len = 8;
  GoType keys = scalar(Kind::kArray, "[8]int", 64);
  keys.elem = &t.int_t;
  keys.len = 8;
  GoType elems = scalar(Kind::kArray, "[8]error", 128);
  elems.elem = &t.error_t;
  elems.len = 8;
  GoType bucket = scalar(Kind::kStruct, "map.bucket[int]error", 208);
  GoType bucket_ptr = scalar(Kind::kPointer, "*map.bucket[int]error", 8);
  bucket_ptr.elem = &bucket;
  bucket.fields = {{"topbits", &top, 0, false},
                   {"keys", &keys, 8, false},
                   {"elems", &elems, 72, false},
                   {"overflow", &bucket_ptr, 200, false}};
  // Two buckets: slot 2 of the first live (tophash >= 5), slot 0 evacuated (2), the rest
  // empty; the second's overflow bucket holds slot 7.
  const uint64_t b0 = A + 0x100, b1 = b0 + 208, ov = A + 0x800;
  m.put(b0, std::string("\x02\x00\x09", 3));
  m.put64(b0 + 8 + 2 * 8, 42);
  m.put64(b1 + 200, ov);
  m.put(ov + 7, "\x05");
  m.put64(ov + 8 + 7 * 8, 43);
  std::vector<std::pair<uint64_t, uint64_t>> got;  // key, element address
  std::string why;
  CHECK(r.group_entries(
      &bucket, b0, 2, 100,
      [&](const GoType* k, RemoteAddr ka, const GoType* e, RemoteAddr ea) {
        CHECK(k == &t.int_t);
        CHECK(e == &t.error_t);
        got.emplace_back(*m.read_u64(ka), ea.value());
      },
      &why));
  CHECK(why.empty());
  CHECK(got ==
        std::vector<std::pair<uint64_t, uint64_t>>{{42, b0 + 72 + 2 * 16}, {43, ov + 72 + 7 * 16}});

  // A swiss group: ctrl bytes with the high bit clear are full slots.
  GoType slot = scalar(Kind::kStruct, "struct { key int; elem error }", 24);
  slot.fields = {{"key", &t.int_t, 0, false}, {"elem", &t.error_t, 8, false}};
  GoType slots = scalar(Kind::kArray, "[8]struct { key int; elem error }", 192);
  slots.elem = &slot;
  slots.len = 8;
  GoType group = scalar(Kind::kStruct, "map.group[int]error", 200);
  GoType ctrl = scalar(Kind::kUint64, "uint64", 8);
  group.fields = {{"ctrl", &ctrl, 0, false}, {"slots", &slots, 8, false}};
  const uint64_t g = A + 0x1000;
  m.put64(g, 0x8080808080038080);  // slot 2 full (h2 = 3), the rest empty
  m.put64(g + 8 + 2 * 24, 44);
  got.clear();
  CHECK(r.group_entries(
      &group, g, 1, 100,
      [&](const GoType*, RemoteAddr ka, const GoType*, RemoteAddr ea) {
        got.emplace_back(*m.read_u64(ka), ea.value());
      },
      &why));
  CHECK(got == std::vector<std::pair<uint64_t, uint64_t>>{{44, g + 8 + 2 * 24 + 8}});
  // Unreadable buckets: said, not crashed on.
  CHECK_FALSE(r.group_entries(
      &group, 0x900000, 1, 100, [](const GoType*, RemoteAddr, const GoType*, RemoteAddr) {}, &why));
  CHECK(why.find("unreadable") != std::string::npos);
}
