// Cursor and byte helpers: every read past the end fails with the data's name.
#include <doctest/doctest.h>

#include <vector>

#include "core/util/cursor.h"

using ifx::Bytes;
using ifx::Cursor;

TEST_CASE("cursor reads little-endian integers in order") {
  std::vector<uint8_t> data{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};
  Cursor c(Bytes(data), "test data");
  CHECK(c.u8() == 0x01);
  CHECK(c.u16() == 0x0302);
  CHECK(c.u32() == 0x07060504);
  CHECK(c.remaining() == 2);
  CHECK_THROWS_WITH_AS(c.u32(), doctest::Contains("test data"), ifx::Error);
}

TEST_CASE("uvarint decodes Go varints and rejects overlong ones") {
  std::vector<uint8_t> data{0x96, 0x01, 0x7f, 0xff, 0xff, 0xff, 0xff,
                            0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  Cursor c(Bytes(data), "varints");
  CHECK(c.uvarint() == 150);
  CHECK(c.uvarint() == 127);
  CHECK(c.uvarint() == UINT64_MAX);

  std::vector<uint8_t> overflow(11, 0xff);
  Cursor o(Bytes(overflow), "overflow");
  CHECK_THROWS_AS(o.uvarint(), ifx::Error);

  std::vector<uint8_t> cut{0x80, 0x80};
  Cursor t(Bytes(cut), "cut");
  CHECK_THROWS_AS(t.uvarint(), ifx::Error);
}

TEST_CASE("in_bounds does not overflow") {
  CHECK(ifx::in_bounds(0, 10, 10));
  CHECK_FALSE(ifx::in_bounds(1, 10, 10));
  CHECK_FALSE(ifx::in_bounds(UINT64_MAX, 2, 10));
  CHECK_FALSE(ifx::in_bounds(2, UINT64_MAX, 10));
}

TEST_CASE("cstring needs a terminator inside the data") {
  std::vector<uint8_t> data{'a', 'b', 0, 'c'};
  Cursor c(Bytes(data), "names");
  CHECK(c.cstring() == "ab");
  CHECK_THROWS_AS(c.cstring(), ifx::Error);
}

TEST_CASE("align and seek stay inside the data") {
  std::vector<uint8_t> data(6);
  Cursor c(Bytes(data), "aligned");
  c.u8();
  c.align(4);
  CHECK(c.position() == 4);
  c.align(8);  // past the end: clamps instead of failing
  CHECK(c.empty());
  CHECK_THROWS_AS(c.seek(7), ifx::Error);
}
