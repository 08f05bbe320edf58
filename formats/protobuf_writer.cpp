// Protocol buffers wire format: each field is a varint key (field number << 3 | wire type)
// followed by a varint (type 0) or a varint length and that many bytes (type 2).
#include "formats/protobuf_writer.h"

namespace ifx::formats {
namespace {

constexpr uint32_t kVarint = 0;
constexpr uint32_t kLengthDelimited = 2;

}  // namespace

void ProtobufWriter::append_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void ProtobufWriter::tag(uint32_t field, uint32_t wire_type) {
  append_varint(out_, (uint64_t{field} << 3) | wire_type);
}

ProtobufWriter& ProtobufWriter::uint64_field(uint32_t field, uint64_t v) {
  tag(field, kVarint);
  append_varint(out_, v);
  return *this;
}

ProtobufWriter& ProtobufWriter::bytes_field(uint32_t field, std::string_view bytes) {
  tag(field, kLengthDelimited);
  append_varint(out_, bytes.size());
  out_.append(bytes);
  return *this;
}

ProtobufWriter& ProtobufWriter::packed_uint64s(uint32_t field, std::span<const uint64_t> values) {
  if (values.empty()) return *this;
  std::string body;
  for (uint64_t v : values) append_varint(body, v);
  return bytes_field(field, body);
}

ProtobufWriter& ProtobufWriter::packed_int64s(uint32_t field, std::span<const int64_t> values) {
  if (values.empty()) return *this;
  std::string body;
  for (int64_t v : values) append_varint(body, static_cast<uint64_t>(v));
  return bytes_field(field, body);
}

}  // namespace ifx::formats
