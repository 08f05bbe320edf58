// The protobuf encoder against the wire format's specification: the byte sequences below are the
// worked examples of protobuf.dev/programming-guides/encoding and hand-encoded varints.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "formats/protobuf_writer.h"

using ifx::formats::ProtobufWriter;

namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string out;
  for (int v : b) out += static_cast<char>(v);
  return out;
}

std::string varint(uint64_t v) {
  std::string out;
  ProtobufWriter::append_varint(out, v);
  return out;
}

}  // namespace

TEST_CASE("varints: 7 bits per byte, least significant group first, high bit = more") {
  CHECK(varint(0) == bytes({0x00}));
  CHECK(varint(1) == bytes({0x01}));
  CHECK(varint(127) == bytes({0x7f}));
  CHECK(varint(128) == bytes({0x80, 0x01}));
  CHECK(varint(150) == bytes({0x96, 0x01}));
  CHECK(varint(300) == bytes({0xac, 0x02}));
  CHECK(varint(16384) == bytes({0x80, 0x80, 0x01}));
  CHECK(varint(UINT64_MAX) == bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

TEST_CASE("varint fields: key is field << 3 | wire type 0") {
  ProtobufWriter w;
  w.uint64_field(1, 150);  // the specification's first example: 08 96 01
  CHECK(w.bytes() == bytes({0x08, 0x96, 0x01}));

  ProtobufWriter neg;
  neg.int64_field(2, -1);  // int64 -1: ten bytes of two's complement
  CHECK(neg.bytes() == bytes({0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));

  ProtobufWriter big_field;
  big_field.uint64_field(16, 1).bool_field(7, true).bool_field(8, false);
  CHECK(big_field.bytes() == bytes({0x80, 0x01, 0x01, 0x38, 0x01, 0x40, 0x00}));
}

TEST_CASE("optional fields leave out zero values") {
  ProtobufWriter w;
  w.uint64_opt(1, 0).int64_opt(2, 0).uint64_opt(3, 5).int64_opt(4, -2);
  CHECK(w.bytes() ==
        bytes({0x18, 0x05, 0x20, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

TEST_CASE("length-delimited: strings, packed repeated fields, nested messages") {
  ProtobufWriter s;
  s.bytes_field(2, "testing");  // the specification's string example
  CHECK(s.bytes() == bytes({0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67}));

  ProtobufWriter empty;
  empty.bytes_field(6, "");  // pprof's string table starts with ""
  CHECK(empty.bytes() == bytes({0x32, 0x00}));

  ProtobufWriter packed;  // the specification's packed example: field 4 = [3, 270, 86942]
  std::vector<uint64_t> values{3, 270, 86942};
  packed.packed_uint64s(4, values);
  CHECK(packed.bytes() == bytes({0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05}));

  ProtobufWriter none;
  none.packed_uint64s(1, {}).packed_int64s(2, {});
  CHECK(none.bytes().empty());

  ProtobufWriter signed_packed;
  std::vector<int64_t> counts{1, -1};
  signed_packed.packed_int64s(2, counts);
  CHECK(signed_packed.bytes() ==
        bytes({0x12, 0x0b, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));

  ProtobufWriter inner;  // the specification's embedded message: field 3 = {1: 150}
  inner.uint64_field(1, 150);
  ProtobufWriter outer;
  outer.message(3, inner);
  CHECK(outer.bytes() == bytes({0x1a, 0x03, 0x08, 0x96, 0x01}));

  ProtobufWriter two_levels;  // a message inside a message inside a message
  two_levels.message(4, outer);
  CHECK(two_levels.bytes() == bytes({0x22, 0x05, 0x1a, 0x03, 0x08, 0x96, 0x01}));
}

TEST_CASE("long payloads get multi-byte lengths") {
  ProtobufWriter w;
  w.bytes_field(1, std::string(200, 'x'));
  REQUIRE(w.bytes().size() == 3 + 200);
  CHECK(w.bytes().substr(0, 3) == bytes({0x0a, 0xc8, 0x01}));
}
