// Byte spans and bounds-checked little-endian loads over untrusted data.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "core/util/error.h"

namespace ifx {

using Bytes = std::span<const uint8_t>;

inline std::string_view as_string(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// True when [off, off+len) lies inside a buffer of `size` bytes, without overflow.
constexpr bool in_bounds(uint64_t off, uint64_t len, uint64_t size) {
  return off <= size && len <= size - off;
}

template <typename T>
T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // amd64 only: host order is little-endian
  return v;
}

// Checked load of a little-endian integer at `off` in `b`; `what` names the data for the error.
template <typename T>
T load_at(Bytes b, uint64_t off, std::string_view what) {
  if (!in_bounds(off, sizeof(T), b.size())) {
    fail("{}: read of {} bytes at offset {:#x} is past the end ({:#x} bytes)", what, sizeof(T), off,
         b.size());
  }
  return load_le<T>(b.data() + off);
}

// Checked sub-span [off, off+len) of `b`.
inline Bytes slice(Bytes b, uint64_t off, uint64_t len, std::string_view what) {
  if (!in_bounds(off, len, b.size())) {
    fail("{}: range {:#x}+{:#x} is outside its {:#x} bytes", what, off, len, b.size());
  }
  return b.subspan(off, len);
}

// The NUL-terminated string starting at `off`; fails if no NUL is found before the end.
inline std::string_view cstring_at(Bytes b, uint64_t off, std::string_view what) {
  if (off >= b.size()) fail("{}: string offset {:#x} is past the end ({:#x})", what, off, b.size());
  const auto* start = b.data() + off;
  const auto* nul = static_cast<const uint8_t*>(std::memchr(start, 0, b.size() - off));
  if (nul == nullptr) fail("{}: string at offset {:#x} is not terminated", what, off);
  return {reinterpret_cast<const char*>(start), static_cast<size_t>(nul - start)};
}

}  // namespace ifx
