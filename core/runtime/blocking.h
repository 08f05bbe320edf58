// What each blocked goroutine waits on, as the runtime records it: the sudogs of a channel
// operation or select (g.waiting → sudog.c → hchan), the semaphore of a sync.Mutex, RWMutex or
// WaitGroup (g.waiting on Go 1.26+, else the semTable treaps, matched by sudog.g), the notify
// list of a sync.Cond, and the facts of nil channels and `select {}` (no object at all).
// Read while a live target is stopped; everything is bounded by the goroutine count.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/go_runtime.h"
#include "core/runtime/goroutines.h"

namespace ifx {

// The operation a goroutine is blocked in, for the kinds that can leak (the runtime's own
// leak detector considers exactly these: mgc.go isMaybeRunnable).
enum class BlockKind : uint8_t {
  kNone,  // running, or waiting for something internal (IO, sleep, GC ...): never a leak
  kNilChanSend,
  kNilChanRecv,
  kSelectNoCases,
  kChanSend,
  kChanRecv,
  kSelect,
  kMutex,
  kRWMutexRLock,
  kRWMutexLock,
  kWaitGroup,
  kCond,
};

std::string_view block_kind_name(BlockKind k);  // "chan send", "sync.Mutex.Lock", ...
// True for the kinds with no object to wait on: nil channels and `select {}`.
inline bool blocks_forever(BlockKind k) {
  return k == BlockKind::kNilChanSend || k == BlockKind::kNilChanRecv ||
         k == BlockKind::kSelectNoCases;
}
inline bool is_chan_block(BlockKind k) {
  return k == BlockKind::kChanSend || k == BlockKind::kChanRecv || k == BlockKind::kSelect;
}

// From the runtime's wait reason string and the goroutine's frames (innermost first). Go 1.19
// reports every sync semaphore as "semacquire": its innermost sync frame tells which one; a
// "semacquire" of anything else (internal/poll ...) is internal, as on Go 1.26.
BlockKind classify_block(std::string_view wait_reason, std::span<const std::string> functions);

// A channel as hchan says.
struct Channel {
  RemoteAddr addr;
  uint64_t qcount = 0;
  uint64_t dataqsiz = 0;
  uint64_t elemsize = 0;
  bool closed = false;
  RemoteAddr elemtype;            // *_type of the element
  std::vector<RemoteAddr> recvq;  // g of each receiver queued, in queue order
  std::vector<RemoteAddr> sendq;
  std::string error;  // why it could not be read (the rest is zero)
};

// One sudog of a blocked goroutine.
struct Sudog {
  RemoteAddr addr;
  RemoteAddr g;
  RemoteAddr elem;  // data slot (chan) or semaphore / notify list address (sync)
  RemoteAddr c;     // channel (chan and select)
  RemoteAddr prev;  // the one before it in its channel's wait queue (null at the head)
  bool is_select = false;
};

// The sudogs on g.waiting of one goroutine: one per select case, linked by waitlink. A sudog
// without a channel is a semaphore's or a notify list's (Go 1.26+ sets g.waiting to it): its
// waitlink chains the other goroutines waiting on the same address, so the list ends there.
// `problem` says why a list was cut short.
struct WaitingList {
  std::vector<Sudog> sudogs;
  std::string problem;
};

struct BlockedG {
  RemoteAddr g;
  uint64_t goid = 0;
  std::vector<Sudog> sudogs;  // g.waiting list, or the semaphore's sudog found in semTable
  std::string found_in;       // "g.waiting", "semtable", "stack" (Go 1.19 sync.Cond)
};

struct BlockingSnapshot {
  std::map<uint64_t, BlockedG> by_goid;                // waiting goroutines with sudogs found
  std::map<RemoteAddr, Channel> channels;              // every channel a sudog names
  uint64_t sudog_elem_offset = 0, sudog_c_offset = 0;  // pointer words the proof hides
  bool have_sudog_layout = false;
  std::vector<std::string> problems;
};

struct BlockingLimits {
  size_t max_sudogs_per_g = 1024;  // select cases
  size_t max_queue = 1'000'000;    // waiters listed per channel queue
};

// Stop phase: sudogs of every waiting goroutine (g.waiting), the semTable treaps, and the
// channels they name. `goroutines` from read_goroutines.
// Or, when the stop copied the heap (sudogs are heap objects in spans that hold pointers, the
// semTable is in .bss): capture_blocking_objects in the stop copies the one thing the heap copy
// lacks — channels, which live in pointer-free spans when their elements hold no pointers — and
// read_blocking runs after the release from the snapshot alone (Target::release without late
// reads, so that what the stop did not copy is an error, never a racy read). It returns the
// g.waiting lists it walked to find the channels (empty once released).
std::vector<WaitingList> capture_blocking_objects(GoRuntime& rt,
                                                  std::span<const Goroutine> goroutines,
                                                  const BlockingLimits& limits);

// For a goroutine parked with sudogs on g.waiting (`w`, from capture_blocking_objects): true
// when each of its channel sudogs is still queued on its channel (at the head of a wait queue,
// or with a prev). A sender or closer dequeues a sudog before it writes into the parked
// goroutine's stack (chan.go send, closechan), and only that goroutine, after it ran again,
// queues one again: so no other goroutine has written into its stack since it parked. False
// when the list was cut short or anything needed is unreadable. Reads the channels: call it
// once they are in the snapshot.
bool queued_undisturbed(GoRuntime& rt, const Goroutine& g, const WaitingList& w);
BlockingSnapshot read_blocking(GoRuntime& rt, std::span<const Goroutine> goroutines,
                               const BlockingLimits& limits);

// The channels that waiting goroutines' sudogs name (g.waiting → sudog.c), each hchan read
// without its wait queues: one sudog read per waiter, one hchan read per channel. For pitfalls,
// which needs only their buffers (qcount, elemtype); also after the stop, from a snapshot.
std::map<RemoteAddr, Channel> read_waited_channels(GoRuntime& rt,
                                                   std::span<const Goroutine> goroutines,
                                                   const BlockingLimits& limits);

// Go 1.19 keeps a sync.Cond waiter's sudog only on the Cond's notify list: find the list from
// the sync.(*Cond).Wait frame's words [sp, end) — a word w with a notify list at w+delta whose
// waiters include g. Returns the notify list address.
std::optional<RemoteAddr> find_notify_list(GoRuntime& rt, RemoteAddr g, uint64_t sp, uint64_t end);

}  // namespace ifx
