// Mirrors runtime.printArgs: a byte program of (offset, size) pairs with markers for aggregates,
// elided and out-of-range arguments; spill slots past the liveness start may be stale ("?").
#include "core/stack/frame_args.h"

namespace ifx {
namespace {

constexpr uint8_t kEndSeq = 0xff;
constexpr uint8_t kStartAgg = 0xfe;
constexpr uint8_t kEndAgg = 0xfd;
constexpr uint8_t kDotdotdot = 0xfc;
constexpr uint8_t kOffsetTooLarge = 0xfb;

}  // namespace

std::string frame_args(GoRuntime& rt, PcCache& cache, const PhysicalFrame& frame) {
  const PcCache::ArgLayout& layout = cache.args(frame.func, frame.sym_pc - rt.bias());
  const auto& info = layout.info;
  const auto& live_info = layout.live_info;
  int32_t live_index = layout.live_index;
  if (!info || info->empty() || frame.frame_size < 0) return {};
  uint8_t start_offset = live_info && !live_info->empty() ? (*live_info)[0] : 0xff;
  auto is_live = [&](uint8_t off, uint8_t slot) {
    if (!live_info || live_index <= 0 || off < start_offset) return true;
    size_t at = static_cast<size_t>(live_index) + slot / 8;
    return at < live_info->size() && ((*live_info)[at] & (1u << (slot % 8))) != 0;
  };
  uint64_t argp = frame.sp + static_cast<uint64_t>(frame.frame_size) + 8;
  std::string out;
  bool start = true;
  auto comma = [&] {
    if (!start) out += ", ";
  };
  uint8_t slot = 0;
  for (size_t i = 0; i < info->size();) {
    uint8_t op = (*info)[i++];
    if (op == kEndSeq) break;
    if (op == kStartAgg) {
      comma();
      out += '{';
      start = true;
      continue;
    }
    if (op == kEndAgg) {
      out += '}';
    } else if (op == kDotdotdot) {
      comma();
      out += "...";
    } else if (op == kOffsetTooLarge) {
      comma();
      out += '_';
    } else {
      comma();
      if (i >= info->size()) break;
      uint8_t size = (*info)[i++];
      auto v = rt.memory().read_u64(RemoteAddr(argp + op));
      uint64_t x = v.value_or(0);
      if (size < 8) x &= (uint64_t{1} << (size * 8)) - 1;
      if (v) {
        fmt::format_to(std::back_inserter(out), "{:#x}", x);
      } else {
        out += '?';
      }
      if (!is_live(op, slot)) out += '?';
      if (op >= start_offset) ++slot;
    }
    start = false;
  }
  return out;
}

}  // namespace ifx
