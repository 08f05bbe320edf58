// The snapshot of a stopped process: while the process is stopped, reads go through to it and
// every range read is kept (exact ranges, not whole pages: 100k small stack reads must stay
// small). freeze() is called when the process resumes; from then on reads are served from the
// kept ranges only, so decoding can take its time without holding the process.
// Not thread-safe: reads update the cache.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/target/memory.h"

namespace ifx {

class SnapshotMemory : public Memory {
 public:
  // `source` reads the stopped process; it must outlive this object until freeze().
  explicit SnapshotMemory(Memory& source) : source_(&source) {}

  size_t read(RemoteAddr addr, std::span<uint8_t> out) override;
  // While live, the ranges not already kept go to the source in one batch (few system calls).
  void read_many(std::span<ReadRequest> requests) override;
  std::string why_unreadable(RemoteAddr addr, uint64_t size) override;

  // Copies the ranges (those not kept yet) straight into the snapshot in few system calls,
  // without a caller's buffer: what an analysis calls with everything it will need.
  void capture(std::span<const RemoteRange> ranges);

  // The process runs again: serve only what was kept.
  void freeze() { source_ = nullptr; }
  bool frozen() const { return source_ == nullptr; }

  uint64_t kept_bytes() const { return kept_bytes_; }
  size_t kept_ranges() const { return ranges_.size(); }

 private:
  // Copies the kept bytes contiguous from addr into out; returns how many.
  using Ranges = std::map<uint64_t, std::vector<uint8_t>>;

  size_t walk(RemoteAddr addr, uint64_t size, uint8_t* out) const;
  size_t copy_kept(RemoteAddr addr, std::span<uint8_t> out) const;
  // The kept ranges that overlap [s, e), as [first, last).
  std::pair<Ranges::iterator, Ranges::iterator> overlapping(uint64_t s, uint64_t e);
  void keep(RemoteAddr addr, std::span<const uint8_t> bytes);
  // keep() for a buffer the snapshot may take over (no copy unless it overlaps kept ranges).
  void adopt(RemoteAddr addr, std::vector<uint8_t>&& bytes);
  void note_failure(RemoteAddr at);
  // A live read already stopped at `at`: the process is stopped, it would stop there again.
  bool known_failure(RemoteAddr at) const { return failures_.count(at.value()) != 0; }

  Memory* source_;
  // Non-overlapping kept ranges (adjacent ones may stay apart): start -> bytes.
  Ranges ranges_;
  // Where live reads stopped, with the source's reason, so a frozen read can still say why.
  std::map<uint64_t, std::string> failures_;
  uint64_t kept_bytes_ = 0;
};

}  // namespace ifx
