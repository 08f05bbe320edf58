// Range arithmetic on target addresses.
#include "core/target/remote.h"

#include <algorithm>

namespace ifx {

std::vector<RemoteRange> merge_nearby(std::vector<RemoteRange> ranges, uint64_t max_gap,
                                      uint64_t max_size) {
  std::sort(ranges.begin(), ranges.end(),
            [](const RemoteRange& a, const RemoteRange& b) { return a.start < b.start; });
  std::vector<RemoteRange> out;
  for (const RemoteRange& r : ranges) {
    uint64_t s = r.start.value(), e = s + r.size;
    if (r.size == 0 || e < s) continue;
    if (!out.empty()) {
      RemoteRange& last = out.back();
      uint64_t end = last.start.value() + last.size;
      if (s <= end + max_gap && std::max(end, e) - last.start.value() <= max_size) {
        last.size = std::max(end, e) - last.start.value();
        continue;
      }
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace ifx
