// A minimal protocol buffers encoder (the wire format of developers.google.com/protocol-buffers/
// docs/encoding): varints, length-delimited fields and nested messages, enough for pprof.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ifx::formats {

class ProtobufWriter {
 public:
  // Wire type 0: an unsigned varint. int64 fields use this with the two's complement value.
  ProtobufWriter& uint64_field(uint32_t field, uint64_t v);
  ProtobufWriter& int64_field(uint32_t field, int64_t v) {
    return uint64_field(field, static_cast<uint64_t>(v));
  }
  ProtobufWriter& bool_field(uint32_t field, bool v) { return uint64_field(field, v ? 1 : 0); }
  // The same, skipped when v is zero (proto3's default values are not sent).
  ProtobufWriter& uint64_opt(uint32_t field, uint64_t v) {
    return v == 0 ? *this : uint64_field(field, v);
  }
  ProtobufWriter& int64_opt(uint32_t field, int64_t v) {
    return v == 0 ? *this : int64_field(field, v);
  }
  // Wire type 2: bytes or a string.
  ProtobufWriter& bytes_field(uint32_t field, std::string_view bytes);
  // Wire type 2: a packed repeated varint field; nothing when values is empty.
  ProtobufWriter& packed_uint64s(uint32_t field, std::span<const uint64_t> values);
  ProtobufWriter& packed_int64s(uint32_t field, std::span<const int64_t> values);
  // Wire type 2: a nested message.
  ProtobufWriter& message(uint32_t field, const ProtobufWriter& nested) {
    return bytes_field(field, nested.bytes());
  }

  const std::string& bytes() const { return out_; }
  void clear() { out_.clear(); }

  static void append_varint(std::string& out, uint64_t v);

 private:
  void tag(uint32_t field, uint32_t wire_type);

  std::string out_;
};

}  // namespace ifx::formats
