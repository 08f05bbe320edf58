// A cursor that consumes untrusted bytes from the front; every read is checked and fails with
// a reason naming the data being parsed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/util/bytes.h"

namespace ifx {

class Cursor {
 public:
  Cursor(Bytes data, std::string_view what) : data_(data), what_(what) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool empty() const { return pos_ == data_.size(); }
  std::string_view what() const { return what_; }

  template <typename T>
  T read() {
    T v = load_at<T>(data_, pos_, what_);
    pos_ += sizeof(T);
    return v;
  }
  uint8_t u8() { return read<uint8_t>(); }
  uint16_t u16() { return read<uint16_t>(); }
  uint32_t u32() { return read<uint32_t>(); }
  uint64_t u64() { return read<uint64_t>(); }
  int32_t i32() { return read<int32_t>(); }
  // A pointer-sized word of the target (4 or 8 bytes).
  uint64_t word(unsigned ptr_size) { return ptr_size == 4 ? u32() : u64(); }

  Bytes bytes(size_t n) {
    Bytes b = slice(data_, pos_, n, what_);
    pos_ += n;
    return b;
  }
  void skip(size_t n) { bytes(n); }
  void seek(size_t pos) {
    if (pos > data_.size())
      fail("{}: seek to {:#x} is past the end ({:#x})", what_, pos, data_.size());
    pos_ = pos;
  }
  void align(size_t a) {
    size_t pad = (a - pos_ % a) % a;
    skip(pad < remaining() ? pad : remaining());
  }

  // Unsigned LEB128 / Go varint (at most 10 bytes).
  uint64_t uvarint() {
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
      uint8_t b = u8();
      if (shift == 63 && b > 1) fail("{}: varint overflows 64 bits", what_);
      v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
    fail("{}: varint longer than 10 bytes", what_);
  }

  std::string_view cstring() {
    std::string_view s = cstring_at(data_, pos_, what_);
    pos_ += s.size() + 1;
    return s;
  }

 private:
  Bytes data_;
  size_t pos_ = 0;
  std::string what_;
};

}  // namespace ifx
