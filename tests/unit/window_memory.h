// Memory for unit tests: a little-endian window [Base, Base + Size) of zeros unless put; reads
// outside it fail ("not mapped").
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/target/memory.h"

namespace ifx::test {

template <uint64_t Base, uint64_t Size>
class WindowMemory : public Memory {
 public:
  static constexpr uint64_t kBase = Base, kSize = Size;
  WindowMemory() : bytes_(kSize) {}
  size_t read(RemoteAddr addr, std::span<uint8_t> out) override {
    uint64_t a = addr.value();
    if (a < kBase || a >= kBase + kSize) return 0;
    size_t n = std::min<uint64_t>(out.size(), kBase + kSize - a);
    std::memcpy(out.data(), bytes_.data() + (a - kBase), n);
    return n;
  }
  std::string why_unreadable(RemoteAddr, uint64_t) override { return "not mapped"; }
  void put8(uint64_t a, uint8_t v) { bytes_[a - kBase] = v; }
  void put64(uint64_t a, uint64_t v) { std::memcpy(bytes_.data() + (a - kBase), &v, 8); }
  void put(uint64_t a, std::string_view s) {
    std::memcpy(bytes_.data() + (a - kBase), s.data(), s.size());
  }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace ifx::test
