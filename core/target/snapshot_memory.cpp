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

size_t populated_snapshot_buffer_size(size_t bytes) {
  return std::max(bytes, kMapThreshold);  // always a mapping of its own
}

void* allocate_populated_snapshot_buffer(size_t bytes) {
  if (bytes == 0) return nullptr;
  bytes = populated_snapshot_buffer_size(bytes);
  auto* p = static_cast<uint8_t*>(allocate_snapshot_buffer(bytes));
#ifdef MADV_POPULATE_WRITE
  if (::madvise(p, bytes, MADV_POPULATE_WRITE) == 0) return p;
#endif
  for (size_t i = 0; i < bytes; i += 4096) p[i] = 0;  // kernels before 5.14
  return p;
}

void free_snapshot_buffer(void* p, size_t bytes) {
  if (bytes < kMapThreshold) {
    ::operator delete(p);
  } else {
    ::munmap(p, bytes);
  }
}

const uint8_t* SnapshotMemory::view(RemoteAddr addr, uint64_t size) {
  uint64_t a = addr.value();
  if (size == 0 || a + size < a) return nullptr;
  if (batch_hint_valid_ && a >= batch_hint_.start &&
      a + size <= batch_hint_.start + batch_hint_.size)
    return batch_hint_.data + (a - batch_hint_.start);
  for (const auto& batch : batches_) {
    auto next = std::upper_bound(batch.begin(), batch.end(), a,
                                 [](uint64_t v, const Span& r) { return v < r.start; });
    if (next == batch.begin()) continue;
    const Span& c = *std::prev(next);
    if (a + size <= c.start + c.size) {
      batch_hint_ = c;
      batch_hint_valid_ = true;
      return c.data + (a - c.start);
    }
  }
  return nullptr;
}

bool SnapshotMemory::find(uint64_t a, Span& out) const {
  for (size_t i = 0; i < hints_; ++i) {
    const Span& h = hint_[i];
    if (a >= h.start && a - h.start < h.size) {
      out = h;
      return true;
    }
  }
  bool found = false;
  auto consider = [&](const Span& c) {
    if (a >= c.start && a - c.start < c.size &&
        (!found || c.start + c.size > out.start + out.size)) {
      out = c;
      found = true;
    }
  };
  auto it = ranges_.upper_bound(a);
  if (it != ranges_.begin()) {
    --it;
    consider(Span{it->first, it->second.size(), it->second.data()});
  }
  for (const auto& batch : batches_) {
    auto next = std::upper_bound(batch.begin(), batch.end(), a,
                                 [](uint64_t v, const Span& r) { return v < r.start; });
    if (next != batch.begin()) consider(*std::prev(next));
  }
  if (found) {
    hint_[hint_next_] = out;
    hint_next_ = (hint_next_ + 1) % hint_.size();
    hints_ = std::min(hints_ + 1, hint_.size());
  }
  return found;
}

// Walks the kept ranges from addr while they are contiguous, copying into out when given.
size_t SnapshotMemory::walk(RemoteAddr addr, uint64_t size, uint8_t* out) const {
  uint64_t done = 0;
  Span r;
  while (done < size && addr.value() + done >= addr.value() && find(addr.value() + done, r)) {
    uint64_t at = addr.value() + done;
    uint64_t n = std::min<uint64_t>(r.size - (at - r.start), size - done);
    if (out != nullptr) std::memcpy(out + done, r.data + (at - r.start), n);
    done += n;
  }
  return done;
}

size_t SnapshotMemory::kept_ranges() const {
  size_t n = ranges_.size();
  for (const auto& b : batches_) n += b.size();
  return n;
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
  clear_hints();  // ranges_ may grow or move below
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
    clear_hints();
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
  clear_hints();
  ranges_.erase(first, last);
  ranges_.emplace(new_start, KeptBytes(std::move(merged)));
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
  std::sort(needed.begin(), needed.end(),
            [](const RemoteRange& a, const RemoteRange& b) { return a.start < b.start; });
  // The batch goes into what is left of the pre-faulted reserve, ranges in order while they
  // fit; only the ranges after that go to a new mapping, which the copy faults in during the
  // pause. Every kept range of the batch is a view into one of the two.
  uint64_t in_reserve = 0;
  size_t split = 0;
  while (split < needed.size() && in_reserve + needed[split].size <= reserve_left_) {
    in_reserve += needed[split++].size;
  }
  uint8_t* fresh = nullptr;
  if (total > in_reserve) {
    fresh = static_cast<uint8_t*>(allocate_snapshot_buffer(total - in_reserve));
    arenas_.emplace_back(fresh, total - in_reserve);
  }
  std::vector<ReadRequest> requests;
  requests.reserve(needed.size());
  uint64_t at = 0;
  for (size_t i = 0; i < needed.size(); ++i) {
    const auto& r = needed[i];
    if (i == split) at = 0;
    uint8_t* base = i < split ? reserve_ : fresh;
    requests.push_back(ReadRequest{r.start, std::span<uint8_t>(base + at, r.size), 0});
    at += r.size;
  }
  reserve_ += in_reserve;
  reserve_left_ -= in_reserve;
  reserve_used_ += in_reserve;
  unreserved_bytes_ += total - in_reserve;
  source_->read_many(requests);
  std::vector<Span> batch;
  batch.reserve(requests.size());
  for (const auto& q : requests) {
    if (q.done < q.out.size()) note_failure(q.addr + q.done);
    if (q.done == 0) continue;
    uint64_t start = q.addr.value();
    uint64_t n = std::min<uint64_t>(q.done, UINT64_MAX - start);  // never wrap the space
    if (!batch.empty() && start < batch.back().start + batch.back().size) {
      keep(q.addr, q.out.first(n));  // overlaps its neighbour in the batch: merged the slow way
      continue;
    }
    batch.push_back(Span{start, n, q.out.data()});
    kept_bytes_ += n;
  }
  if (!batch.empty()) batches_.push_back(std::move(batch));
  clear_hints();
}

bool SnapshotMemory::adopt(std::span<const AdoptedRange> ranges,
                           std::shared_ptr<const void> owner) {
  if (frozen()) return false;
  std::vector<Span> batch;
  batch.reserve(ranges.size());
  for (const auto& r : ranges) {
    if (r.size == 0 || r.start.value() > UINT64_MAX - r.size) continue;
    batch.push_back(Span{r.start.value(), r.size, r.data});
  }
  std::sort(batch.begin(), batch.end(),
            [](const Span& a, const Span& b) { return a.start < b.start; });
  for (size_t i = 1; i < batch.size(); ++i) {
    if (batch[i].start < batch[i - 1].start + batch[i - 1].size) return false;
  }
  for (const auto& b : batch) kept_bytes_ += b.size;
  if (!batch.empty()) batches_.push_back(std::move(batch));
  owners_.push_back(std::move(owner));
  clear_hints();
  return true;
}

void SnapshotMemory::give_reserve(void* buffer, size_t bytes) {
  if (buffer == nullptr) return;
  bytes = populated_snapshot_buffer_size(bytes);
  arenas_.emplace_back(static_cast<uint8_t*>(buffer), bytes);
  reserve_ = static_cast<uint8_t*>(buffer);
  reserve_left_ = bytes;
}

void SnapshotMemory::note_failure(RemoteAddr at) {
  if (failures_.size() >= kMaxFailures || failures_.count(at.value()) != 0) return;
  failures_.emplace(at.value(), active()->why_unreadable(at, 1));
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
    if (r.done < r.out.size() && active() != nullptr && !known_failure(r.addr + r.done)) {
      misses.push_back(ReadRequest{r.addr + r.done, r.out.subspan(r.done), 0});
      owner.push_back(i);
    }
  }
  if (misses.empty()) return;
  active()->read_many(misses);
  for (size_t k = 0; k < misses.size(); ++k) {
    const auto& m = misses[k];
    if (frozen()) late_bytes_ += m.done;
    keep(m.addr, m.out.first(m.done));
    requests[owner[k]].done += m.done;
    if (m.done < m.out.size()) note_failure(m.addr + m.done);
  }
}

std::string SnapshotMemory::why_unreadable(RemoteAddr addr, uint64_t size) {
  if (!frozen()) return source_->why_unreadable(addr, size);
  if (late_ != nullptr) return late_->why_unreadable(addr, size);
  uint64_t covered = walk(addr, size, nullptr);  // the first byte not kept is at addr + covered
  auto failure = failures_.find(addr.value() + covered);
  if (failure != failures_.end()) return failure->second;
  return "not captured in the snapshot";
}

}  // namespace ifx
