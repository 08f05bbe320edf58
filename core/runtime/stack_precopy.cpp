// The pre-copy: allgs and the g structs read racily, then the stacks of the goroutines parked
// since a GC stamped them, in one batched read into one buffer.
#include "core/runtime/stack_precopy.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/runtime/goroutine_reading.h"
#include "core/target/snapshot_memory.h"

namespace ifx {
namespace {

// Only a goroutine like this can be trusted in the stop: its stack is the same as long as
// waitsince keeps the value it has now.
// The pre-copy's bytes at most: reads of a running process may catch a g struct mid-update, and
// its stack bounds then say nothing sane; what does not fit is copied in the stop.
constexpr uint64_t kMaxPrecopyBytes = uint64_t{2} << 30;

bool parked_since_gc(const Goroutine& g) {
  return g.unreadable.empty() && g.status == kGwaiting && !g.scan && g.wait_since != 0 &&
         g.syscall_sp == 0;
}

}  // namespace

StackPrecopy StackPrecopy::copy(GoRuntime& running, const GoroutineLimits& limits) {
  StackPrecopy out;
  auto g_size = running.layout().size(Typ::kG);
  if (!g_size || *g_size == 0 || !running.layout().field(Fld::kGWaitSince)) return out;
  std::vector<uint64_t> all = read_allgs(running, limits.max_goroutines);
  std::vector<Goroutine> gs(all.size());
  for (size_t i = 0; i < all.size(); ++i) gs[i].g = RemoteAddr(all[i]);
  // The g structs, merged as the stop reads them, into one buffer.
  std::vector<RemoteRange> g_ranges = merged_g_ranges(gs, *g_size);
  uint64_t g_bytes = 0;
  for (const auto& r : g_ranges) g_bytes += r.size;
  SnapshotBytes g_copy(g_bytes);
  std::vector<ReadRequest> reads;
  reads.reserve(g_ranges.size());
  uint64_t at = 0;
  for (const auto& r : g_ranges) {
    reads.push_back(ReadRequest{r.start, std::span<uint8_t>(g_copy.data() + at, r.size), 0});
    at += r.size;
  }
  running.memory().read_many(reads);
  std::sort(gs.begin(), gs.end(), [](const Goroutine& a, const Goroutine& b) { return a.g < b.g; });
  // Decode each g from the range holding it.
  std::vector<uint8_t> raw(*g_size);
  std::vector<RemoteRange> stacks;
  uint64_t untrusted_stack_bytes = 0;
  size_t next = 0;
  for (Goroutine& g : gs) {
    while (next < reads.size() && reads[next].addr.value() + reads[next].out.size() <= g.g.value())
      ++next;
    if (g.g.is_null() || next == reads.size() || g.g < reads[next].addr ||
        g.g.value() + *g_size > reads[next].addr.value() + reads[next].done) {
      g.unreadable = "not copied";
      continue;
    }
    std::copy_n(reads[next].out.data() + (g.g.value() - reads[next].addr.value()), *g_size,
                raw.begin());
    decode_goroutine(running.layout(), raw, g);
    auto used = used_stack(g, limits);
    if (!used) continue;
    if (!parked_since_gc(g) || g.sched_sp != used->start.value() ||
        out.stack_bytes_ + used->size > kMaxPrecopyBytes) {
      untrusted_stack_bytes += used->size;
      continue;
    }
    out.entries_.push_back(Entry{g, out.stack_bytes_, used->size});
    out.stack_bytes_ += used->size;
    stacks.push_back(*used);
  }
  // The stacks, after the g structs that vouch for them (a goroutine that ran in between has
  // a new waitsince by the stop).
  auto arena = std::make_shared<SnapshotBytes>(out.stack_bytes_);
  reads.clear();
  reads.reserve(stacks.size());
  for (size_t i = 0; i < stacks.size(); ++i) {
    const Entry& e = out.entries_[i];
    reads.push_back(
        ReadRequest{stacks[i].start, std::span<uint8_t>(arena->data() + e.offset, e.size), 0});
  }
  running.memory().read_many(reads);
  // A stack that could not be read whole is not kept: the stop copies it.
  std::vector<Entry> kept;
  kept.reserve(out.entries_.size());
  for (size_t i = 0; i < reads.size(); ++i) {
    if (reads[i].done == reads[i].out.size()) {
      kept.push_back(out.entries_[i]);
    } else {
      untrusted_stack_bytes += out.entries_[i].size;
      out.stack_bytes_ -= out.entries_[i].size;
    }
  }
  out.entries_ = std::move(kept);
  out.arena_ = std::move(arena);
  out.stop_bytes_ = g_bytes + untrusted_stack_bytes;
  return out;
}

void precopy_test_delay() {
  const char* delay = std::getenv("IFXRAY_TEST_PRECOPY_DELAY_MS");
  if (delay == nullptr) return;
  long ms = std::strtol(delay, nullptr, 10);
  // Tests wait for this line to act on the process in the window.
  fmt::print(stderr, "ifxray: test hook: {} ms before the stop\n", ms);
  std::fflush(stderr);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

const uint8_t* StackPrecopy::unchanged(const Goroutine& g, const RemoteRange& used) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), g.g,
                             [](const Entry& e, RemoteAddr v) { return e.g.g < v; });
  if (it == entries_.end() || it->g.g != g.g) return nullptr;
  const Entry& e = *it;
  const Goroutine& then = e.g;
  if (!parked_since_gc(g) || g.goid != then.goid || g.wait_since != then.wait_since ||
      g.wait_reason != then.wait_reason || g.stack_lo != then.stack_lo ||
      g.stack_hi != then.stack_hi || g.sched_sp != then.sched_sp || g.sched_pc != then.sched_pc ||
      used.start.value() != then.sched_sp || used.size != e.size) {
    return nullptr;
  }
  ++kept_;
  const auto* bytes = static_cast<const SnapshotBytes*>(arena_.get());
  return bytes->data() + e.offset;
}

bool precopy_check_requested() {
  const char* v = std::getenv("IFXRAY_TEST_PRECOPY_CHECK");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

std::string check_precopy(Memory& stopped, std::span<const AdoptedRange> kept) {
  std::vector<RemoteRange> ranges;
  ranges.reserve(kept.size());
  for (const auto& k : kept) ranges.push_back(RemoteRange{k.start, k.size});
  stopped.capture(ranges);
  size_t differ = 0, unreadable = 0;
  std::vector<uint8_t> now;
  for (const auto& k : kept) {
    now.resize(k.size);
    if (stopped.read(k.start, now) != now.size()) {
      ++unreadable;
    } else if (std::memcmp(now.data(), k.data, k.size) != 0) {
      ++differ;
    }
  }
  return fmt::format(
      "pre-copy check: {} of {} kept stacks differ from the stop's copy ({} unreadable)", differ,
      kept.size(), unreadable);
}

}  // namespace ifx
