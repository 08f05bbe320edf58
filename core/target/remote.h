// An address in the target's address space: never a local pointer, never mixed up with a size.
#pragma once

#include <compare>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

namespace ifx {

class RemoteAddr {
 public:
  constexpr RemoteAddr() = default;
  constexpr explicit RemoteAddr(uint64_t value) : value_(value) {}

  constexpr uint64_t value() const { return value_; }
  constexpr bool is_null() const { return value_ == 0; }
  constexpr RemoteAddr operator+(uint64_t offset) const { return RemoteAddr(value_ + offset); }
  constexpr RemoteAddr& operator+=(uint64_t offset) {
    value_ += offset;
    return *this;
  }
  // Distance in bytes from b to a.
  friend constexpr uint64_t operator-(RemoteAddr a, RemoteAddr b) { return a.value_ - b.value_; }
  constexpr auto operator<=>(const RemoteAddr&) const = default;

 private:
  uint64_t value_ = 0;
};

// A range [start, start+size) of target memory.
struct RemoteRange {
  RemoteAddr start;
  uint64_t size = 0;

  RemoteAddr end() const { return start + size; }
  bool contains(RemoteAddr a) const { return a >= start && a - start < size; }
};

// The ranges sorted, with ranges closer than max_gap merged (gap bytes included) as long as a
// merged range stays within max_size: many small reads of runtime structs that sit side by
// side in their spans (g's, hchans) become a few large copies instead of one iovec each. A
// merged range may stop early at an unreadable page; callers read what it lacks on its own.
std::vector<RemoteRange> merge_nearby(std::vector<RemoteRange> ranges, uint64_t max_gap = 4096,
                                      uint64_t max_size = uint64_t{1} << 20);

}  // namespace ifx

template <>
struct fmt::formatter<ifx::RemoteAddr> : fmt::formatter<uint64_t> {
  auto format(ifx::RemoteAddr a, format_context& ctx) const {
    return fmt::format_to(ctx.out(), "{:#x}", a.value());
  }
};
