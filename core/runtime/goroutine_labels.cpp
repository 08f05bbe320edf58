// Decoding runtime/pprof.labelMap from target memory (runtime/pprof/label.go of each version).
#include "core/runtime/goroutine_labels.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/util/bytes.h"
#include "core/values/go_map.h"

namespace ifx {
namespace {

constexpr uint64_t kMaxLabels = 1024;
constexpr uint64_t kMaxLabelBytes = 4096;
constexpr uint64_t kStringHeader = 16;  // {ptr, len}

// A Go string header at addr; false with `error` set when it cannot be read.
bool read_go_string(Memory& mem, RemoteAddr addr, std::string& out, std::string& error) {
  uint8_t hdr[kStringHeader];
  if (mem.read(addr, hdr) != sizeof hdr) {
    error = fmt::format("string header at {} is unreadable: {}", addr,
                        mem.why_unreadable(addr, kStringHeader));
    return false;
  }
  auto p = RemoteAddr(load_le<uint64_t>(hdr));
  uint64_t n = load_le<uint64_t>(hdr + 8);
  bool cut = n > kMaxLabelBytes;
  n = std::min(n, kMaxLabelBytes);
  out.assign(n, '\0');
  if (n > 0 && mem.read(p, std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), n)) != n) {
    error = fmt::format("label string at {} is unreadable: {}", p, mem.why_unreadable(p, n));
    return false;
  }
  if (cut) out += "...";
  return true;
}

void read_pair(Memory& mem, RemoteAddr key, RemoteAddr value, GoroutineLabels& out) {
  std::string k, v;
  if (!read_go_string(mem, key, k, out.error) || !read_go_string(mem, value, v, out.error)) return;
  out.labels.emplace_back(std::move(k), std::move(v));
}

// Go 1.21+: labelMap{Set{List []Label{Key, Value string}}}; the slice header is at offset 0.
void read_label_slice(Memory& mem, RemoteAddr at, GoroutineLabels& out) {
  uint8_t hdr[24];
  if (mem.read(at, hdr) != sizeof hdr) {
    out.error = fmt::format("labelMap at {} is unreadable: {}", at, mem.why_unreadable(at, 24));
    return;
  }
  auto list = RemoteAddr(load_le<uint64_t>(hdr));
  uint64_t len = load_le<uint64_t>(hdr + 8);
  if (len > kMaxLabels) {
    out.error = fmt::format("{} labels; reading the first {}", len, kMaxLabels);
    len = kMaxLabels;
  }
  for (uint64_t i = 0; i < len && out.error.empty(); ++i) {
    RemoteAddr entry = list + i * 2 * kStringHeader;
    read_pair(mem, entry, entry + kStringHeader, out);
  }
}

// Up to Go 1.20: labelMap is map[string]string, so g.labels points at a map (a *hmap).
void read_label_map(Memory& mem, RemoteAddr at, GoroutineLabels& out) {
  auto hmap = mem.read_ptr(at);
  if (!hmap) {
    out.error = fmt::format("labelMap at {} is unreadable: {}", at, mem.why_unreadable(at, 8));
    return;
  }
  static const GoMapBucketLayout kStrings =
      GoMapBucketLayout::classic(kStringHeader, 8, kStringHeader, 8);
  GoMapContents m = read_go_map(mem, *hmap, kStrings, kMaxLabels);
  if (m.truncated) out.error = fmt::format("{} labels; reading the first {}", m.count, kMaxLabels);
  if (!m.error.empty()) out.error = m.error;
  for (const auto& e : m.entries) read_pair(mem, e.key, e.value, out);
}

}  // namespace

GoroutineLabels read_goroutine_labels(GoRuntime& rt, RemoteAddr labels) {
  GoroutineLabels out;
  if (labels.is_null()) return out;
  if (rt.binary().version().at_least(21)) {
    read_label_slice(rt.memory(), labels, out);
  } else {
    read_label_map(rt.memory(), labels, out);
  }
  std::sort(out.labels.begin(), out.labels.end());
  return out;
}

}  // namespace ifx
