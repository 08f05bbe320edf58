// Exact-range cache over a stopped process. Overlapping ranges are merged; a small read that
// continues a kept range grows it in place, so sequential reads stay linear.
#include "core/target/snapshot_memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <new>

namespace ifx {
namespace {

// More than this many remembered failures says nothing more useful; keep memory bounded.
constexpr size_t kMaxFailures = 100000;
// Reads up to this size that continue a kept range are appended to it rather than kept apart.
constexpr uint64_t kAppendMax = 1 << 20;

// Below this, malloc serves buffers better than a mapping of their own.
constexpr size_t kMapThreshold = 2 << 20;

}  // namespace

void* allocate_snapshot_buffer(size_t bytes) {
  if (bytes < kMapThreshold) return ::operator new(bytes);
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  ::madvise(p, bytes, MADV_HUGEPAGE);  // advice only: without THP it just does nothing
  return p;
}

void free_snapshot_buffer(void* p, size_t bytes) {
  if (bytes < kMapThreshold) {
    ::operator delete(p);
  } else {
    ::munmap(p, bytes);
  }
}

// Walks the kept ranges from addr while they are contiguous, copying into out when given.
size_t SnapshotMemory::walk(RemoteAddr addr, uint64_t size, uint8_t* out) const {
  uint64_t a = addr.value();
  if (hint_valid_ && a >= hint_->first && a - hint_->first < hint_->second.size() &&
      size <= hint_->second.size() - (a - hint_->first)) {
    if (out != nullptr) std::memcpy(out, hint_->second.data() + (a - hint_->first), size);
    return size;
  }
  auto it = ranges_.upper_bound(a);
  if (it == ranges_.begin()) return 0;
  --it;
  hint_ = it;
  hint_valid_ = true;
  uint64_t done = 0;
  for (; done < size && it != ranges_.end(); ++it) {
    uint64_t at = addr.value() + done;
    if (it->first > at) break;
    uint64_t off = at - it->first;
    if (off >= it->second.size()) break;
    uint64_t n = std::min<uint64_t>(it->second.size() - off, size - done);
    if (out != nullptr) std::memcpy(out + done, it->second.data() + off, n);
    done += n;
  }
  return done;
}

size_t SnapshotMemory::copy_kept(RemoteAddr addr, std::span<uint8_t> out) const {
  return walk(addr, out.size(), out.data());
}

std::pair<SnapshotMemory::Ranges::iterator, SnapshotMemory::Ranges::iterator>
SnapshotMemory::overlapping(uint64_t s, uint64_t e) {
  auto first = ranges_.upper_bound(s);
  if (first != ranges_.begin()) {
    auto prev = std::prev(first);
    if (prev->first + prev->second.size() > s) first = prev;
  }
  auto last = first;
  while (last != ranges_.end() && last->first < e) ++last;
  return {first, last};
}

void SnapshotMemory::keep(RemoteAddr addr, std::span<const uint8_t> bytes) {
  uint64_t s = addr.value();
  uint64_t n = std::min<uint64_t>(bytes.size(), UINT64_MAX - s);  // never wrap the space
  if (n == 0) return;
  uint64_t e = s + n;
  auto [first, last] = overlapping(s, e);
  if (first == last) {
    // Nothing overlaps. A read that continues the range before it extends that range in place
    // (amortised by vector growth), so sequential small reads do not pile up map nodes.
    auto next = ranges_.upper_bound(s);
    if (next != ranges_.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second.size() == s && n <= kAppendMax) {
        auto& owned = prev->second.owned();
        owned.insert(owned.end(), bytes.begin(), bytes.begin() + n);
        kept_bytes_ += n;
        return;
      }
    }
    hint_valid_ = false;
    ranges_.emplace(s, KeptBytes(SnapshotBytes(bytes.begin(), bytes.begin() + n)));
    kept_bytes_ += n;
    return;
  }
  if (first->first <= s && std::next(first) == last) {
    // One range starts at or before s: grow it in place if the read goes past its end.
    uint64_t off = s - first->first;
    if (off + n <= first->second.size() &&
        std::memcmp(first->second.data() + off, bytes.data(), n) == 0) {
      return;  // already kept as it is (the process is stopped: it cannot have changed)
    }
    auto& v = first->second.owned();
    if (off + n > v.size()) {
      kept_bytes_ += off + n - v.size();
      v.resize(off + n);
    }
    std::memcpy(v.data() + off, bytes.data(), n);
    return;
  }
  uint64_t new_start = std::min(s, first->first);
  uint64_t new_end = e;
  for (auto it = first; it != last; ++it) {
    new_end = std::max(new_end, it->first + it->second.size());
  }
  SnapshotBytes merged(new_end - new_start);
  for (auto it = first; it != last; ++it) {
    std::memcpy(merged.data() + (it->first - new_start), it->second.data(), it->second.size());
    kept_bytes_ -= it->second.size();
  }
  std::memcpy(merged.data() + (s - new_start), bytes.data(), n);
  kept_bytes_ += merged.size();
  hint_valid_ = false;
  ranges_.erase(first, last);
  ranges_.emplace(new_start, KeptBytes(std::move(merged)));
}

void SnapshotMemory::adopt(RemoteAddr addr, KeptBytes&& bytes) {
  uint64_t s = addr.value();
  std::span<const uint8_t> view(bytes.data(), bytes.size());
  if (view.empty() || view.size() > UINT64_MAX - s) return keep(addr, view);
  auto [first, last] = overlapping(s, s + view.size());
  if (first != last) return keep(addr, view);
  kept_bytes_ += bytes.size();
  hint_valid_ = false;
  ranges_.emplace(s, std::move(bytes));
}

SnapshotMemory::~SnapshotMemory() {
  ranges_.clear();  // the views go before the arenas they point into
  for (auto [p, n] : arenas_) free_snapshot_buffer(p, n);
}

void SnapshotMemory::capture(std::span<const RemoteRange> ranges) {
  if (frozen()) return;
  std::vector<RemoteRange> needed;
  uint64_t total = 0;
  for (const auto& r : ranges) {
    uint64_t kept = walk(r.start, r.size, nullptr);
    if (kept == r.size || known_failure(r.start + kept)) continue;
    needed.push_back(r);
    total += r.size;
  }
  if (needed.empty()) return;
  // One buffer for the whole batch; every kept range of it is a view.
  auto* arena = static_cast<uint8_t*>(allocate_snapshot_buffer(total));
  arenas_.emplace_back(arena, total);
  std::vector<ReadRequest> requests;
  requests.reserve(needed.size());
  uint64_t at = 0;
  for (const auto& r : needed) {
    requests.push_back(ReadRequest{r.start, std::span<uint8_t>(arena + at, r.size), 0});
    at += r.size;
  }
  source_->read_many(requests);
  for (const auto& q : requests) {
    if (q.done < q.out.size()) note_failure(q.addr + q.done);
    if (q.done > 0) adopt(q.addr, KeptBytes(q.out.data(), q.done));
  }
}

void SnapshotMemory::note_failure(RemoteAddr at) {
  if (failures_.size() >= kMaxFailures || failures_.count(at.value()) != 0) return;
  failures_.emplace(at.value(), source_->why_unreadable(at, 1));
}

size_t SnapshotMemory::read(RemoteAddr addr, std::span<uint8_t> out) {
  ReadRequest r{addr, out, 0};
  read_many(std::span<ReadRequest>(&r, 1));
  return r.done;
}

void SnapshotMemory::read_many(std::span<ReadRequest> requests) {
  std::vector<ReadRequest> misses;
  std::vector<size_t> owner;
  for (size_t i = 0; i < requests.size(); ++i) {
    auto& r = requests[i];
    r.done = copy_kept(r.addr, r.out);
    if (r.done < r.out.size() && !frozen() && !known_failure(r.addr + r.done)) {
      misses.push_back(ReadRequest{r.addr + r.done, r.out.subspan(r.done), 0});
      owner.push_back(i);
    }
  }
  if (misses.empty()) return;
  source_->read_many(misses);
  for (size_t k = 0; k < misses.size(); ++k) {
    const auto& m = misses[k];
    keep(m.addr, m.out.first(m.done));
    requests[owner[k]].done += m.done;
    if (m.done < m.out.size()) note_failure(m.addr + m.done);
  }
}

std::string SnapshotMemory::why_unreadable(RemoteAddr addr, uint64_t size) {
  if (!frozen()) return source_->why_unreadable(addr, size);
  uint64_t covered = walk(addr, size, nullptr);  // the first byte not kept is at addr + covered
  auto failure = failures_.find(addr.value() + covered);
  if (failure != failures_.end()) return failure->second;
  return "not captured in the snapshot";
}

}  // namespace ifx
