// The snapshot of a stopped process: while the process is stopped, reads go through to it and
// every range read is kept (exact ranges, not whole pages: 100k small stack reads must stay
// small). freeze() is called when the process resumes; from then on reads are served from the
// kept ranges only, so decoding can take its time without holding the process.
// Not thread-safe: reads update the cache.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/target/memory.h"

namespace ifx {

// Large snapshot buffers come from mmap with transparent huge pages requested: faulting in
// hundreds of MiB 4 KiB at a time would dominate the pause.
void* allocate_snapshot_buffer(size_t bytes);
void free_snapshot_buffer(void* p, size_t bytes);
// The same, with every page faulted in now: called before a process is stopped, so that the
// kernel zeroes the pages while the process still runs (nullptr when bytes is 0).
void* allocate_populated_snapshot_buffer(size_t bytes);
// The size of the mapping that allocate_populated_snapshot_buffer(bytes) made.
size_t populated_snapshot_buffer_size(size_t bytes);

// An allocator that leaves bytes uninitialised on resize (snapshot buffers are filled by a read
// at once; zeroing them first would lengthen the pause) and maps large buffers as above.
template <typename T>
struct UninitAllocator {
  using value_type = T;
  template <typename U>
  struct rebind {
    using other = UninitAllocator<U>;
  };
  UninitAllocator() = default;
  template <typename U>
  explicit UninitAllocator(const UninitAllocator<U>& /*other*/) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(allocate_snapshot_buffer(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { free_snapshot_buffer(p, n * sizeof(T)); }
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  friend bool operator==(const UninitAllocator&, const UninitAllocator&) { return true; }
};

using SnapshotBytes = std::vector<uint8_t, UninitAllocator<uint8_t>>;

// A kept range: bytes it owns, or a view into the arena of one capture batch (a single buffer
// for 100k stacks faults in as a few huge pages, not as 30k small pages during the pause).
// A view turns into owned bytes only when a later read grows the range in place.
class KeptBytes {
 public:
  explicit KeptBytes(SnapshotBytes owned) : owned_(std::move(owned)) {}
  KeptBytes(const uint8_t* view, size_t size) : view_(view), view_size_(size) {}
  const uint8_t* data() const { return view_ != nullptr ? view_ : owned_.data(); }
  size_t size() const { return view_ != nullptr ? view_size_ : owned_.size(); }
  // The bytes as an owned vector, copied out of the arena first if this is a view.
  SnapshotBytes& owned() {
    if (view_ != nullptr) {
      owned_.assign(view_, view_ + view_size_);
      view_ = nullptr;
      view_size_ = 0;
    }
    return owned_;
  }

 private:
  SnapshotBytes owned_;
  const uint8_t* view_ = nullptr;
  size_t view_size_ = 0;
};

class SnapshotMemory : public Memory {
 public:
  // `source` reads the stopped process; it must outlive this object until freeze().
  explicit SnapshotMemory(Memory& source) : source_(&source) {}
  ~SnapshotMemory() override;
  SnapshotMemory(const SnapshotMemory&) = delete;
  SnapshotMemory& operator=(const SnapshotMemory&) = delete;

  size_t read(RemoteAddr addr, std::span<uint8_t> out) override;
  // While live, the ranges not already kept go to the source in one batch (few system calls).
  void read_many(std::span<ReadRequest> requests) override;
  std::string why_unreadable(RemoteAddr addr, uint64_t size) override;
  // Ranges of capture and adopted batches only: their bytes never move or change until
  // destruction.
  const uint8_t* view(RemoteAddr addr, uint64_t size) override;

  // Copies the ranges (those not kept yet) straight into the snapshot in few system calls,
  // without a caller's buffer: what an analysis calls with everything it will need.
  void capture(std::span<const RemoteRange> ranges) override;
  // Only while the process is stopped: the ranges become one more batch viewing the caller's
  // bytes (ranges must not overlap each other; they may overlap what is kept already).
  bool adopt(std::span<const AdoptedRange> ranges, std::shared_ptr<const void> owner) override;
  bool captures() const override { return !frozen(); }

  // A buffer faulted in before the process was stopped (allocate_populated_snapshot_buffer):
  // capture batches are copied into it while it lasts (a batch larger than what is left fills
  // it and only its remaining ranges go to a new mapping), so the pause does not pay for page
  // faults.
  void give_reserve(void* buffer, size_t bytes);

  // The process runs again: serve what was kept. With late_reads, what was not kept is still
  // read from the running process (the source must then outlive this object): for memory that
  // no longer changes once written — type descriptors, itabs, GC masks — which an analysis
  // cannot list before it walks. Those reads are counted in late_bytes().
  void freeze(bool late_reads = false) {
    origin_ = source_;
    late_ = late_reads ? source_ : nullptr;
    source_ = nullptr;
  }
  // After freeze(false): from now on, late reads as with freeze(true). An analysis first reads
  // what must come from the stop alone (a miss is then an error, not a racy live read), then
  // allows the reads of immutable memory.
  void allow_late_reads() {
    if (frozen()) late_ = origin_;
  }
  bool frozen() const { return source_ == nullptr; }
  uint64_t late_bytes() const { return late_bytes_; }

  uint64_t kept_bytes() const { return kept_bytes_; }
  // Capture batches' bytes copied into the reserve, and into buffers mapped in the stop.
  uint64_t reserve_used() const { return reserve_used_; }
  uint64_t unreserved_bytes() const { return unreserved_bytes_; }
  size_t kept_ranges() const;

 private:
  // Copies the kept bytes contiguous from addr into out; returns how many.
  using Ranges = std::map<uint64_t, KeptBytes>;
  // A range of a capture batch, viewing the batch's arena.
  struct Span {
    uint64_t start = 0;
    uint64_t size = 0;
    const uint8_t* data = nullptr;
  };
  // The kept range holding byte a that goes furthest past it, from ranges_ or a batch.
  bool find(uint64_t a, Span& out) const;

  size_t walk(RemoteAddr addr, uint64_t size, uint8_t* out) const;
  size_t copy_kept(RemoteAddr addr, std::span<uint8_t> out) const;
  // The kept ranges that overlap [s, e), as [first, last).
  std::pair<Ranges::iterator, Ranges::iterator> overlapping(uint64_t s, uint64_t e);
  void keep(RemoteAddr addr, std::span<const uint8_t> bytes);
  void note_failure(RemoteAddr at);
  // A live read already stopped at `at`: the process is stopped, it would stop there again.
  bool known_failure(RemoteAddr at) const { return failures_.count(at.value()) != 0; }

  // Where reads that miss the kept ranges go: the stopped process, or after freeze(true) the
  // running one; null once frozen without late reads.
  Memory* active() const { return source_ != nullptr ? source_ : late_; }

  Memory* source_;
  Memory* late_ = nullptr;
  Memory* origin_ = nullptr;  // the source, kept by freeze() for allow_late_reads()
  uint64_t late_bytes_ = 0;
  // Non-overlapping kept ranges (adjacent ones may stay apart): start -> bytes.
  Ranges ranges_;
  // The ranges of each capture batch, sorted by start and not overlapping each other: 100k
  // stacks go in as one flat vector rather than 100k map nodes while the process is stopped.
  // They may overlap ranges_ or other batches; the process was stopped, so overlapping bytes
  // are equal and a read may take them from either.
  std::vector<std::vector<Span>> batches_;
  // The ranges the last reads were served from: an unwinder reads one stack many times in a
  // row, a walk over sudogs alternates between the heap's copy and the channels'. Reads update
  // them (the class is not thread-safe); any change to ranges_ clears them.
  mutable std::array<Span, 4> hint_{};
  mutable size_t hints_ = 0;      // valid entries of hint_
  mutable size_t hint_next_ = 0;  // the one the next miss replaces
  void clear_hints() const {
    hints_ = 0;
    hint_next_ = 0;
  }
  // The batch range the last view() came from (batches never change once made).
  Span batch_hint_;
  bool batch_hint_valid_ = false;
  // Where live reads stopped, with the source's reason, so a frozen read can still say why.
  std::map<uint64_t, std::string> failures_;
  uint64_t kept_bytes_ = 0;
  // The capture batches' buffers that kept ranges view: (address, size).
  std::vector<std::pair<uint8_t*, size_t>> arenas_;
  // What keeps adopted bytes alive.
  std::vector<std::shared_ptr<const void>> owners_;
  // The unused tail of the pre-faulted reserve (owned by arenas_).
  uint8_t* reserve_ = nullptr;
  size_t reserve_left_ = 0;
  uint64_t reserve_used_ = 0;
  uint64_t unreserved_bytes_ = 0;
};

}  // namespace ifx
