// The leak proof: the fixed point of Go 1.26's goroutine leak detector (mgc.go
// findGoroutineLeaks), computed on a snapshot of the heap. Mark from the roots of every goroutine
// that may run (runnable, running, in a system call, or waiting for something internal) and from
// globals and the runtime's other roots; hide the sudog words that name what a blocked goroutine
// waits on; a blocked goroutine becomes live once an object it waits on is marked (or is not in
// the heap at all), and then its stack is marked too; repeat. Blocked goroutines never reached
// can never run again. Metadata the heap model does not understand downgrades to "unknown".
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/report/leaks.h"
#include "core/runtime/blocking.h"
#include "core/runtime/goroutines.h"

namespace ifx {

// A goroutine blocked in a way that can leak, and the objects it waits on.
struct ProofCandidate {
  uint64_t goid = 0;
  BlockKind kind = BlockKind::kNone;
  std::vector<RemoteAddr> objects;  // channels, or the semaphore / notify list address
  std::vector<RemoteAddr> hidden;   // sudog words the mark must not follow
  bool object_known = true;         // false: what it waits on could not be read
};

// What the heap model copied while the target was stopped (opaque here).
struct HeapSnapshot;
// The heap's span metadata read before the stop (core/heap/heap.h).
struct SpanPreread;
struct HeapSnapshotDeleter {
  void operator()(HeapSnapshot* h) const;
};
using HeapSnapshotPtr = std::unique_ptr<HeapSnapshot, HeapSnapshotDeleter>;

// What the stop phase cost, for --stats.
struct HeapCaptureFigures {
  double ms = 0;                                 // all of capture_heap_for_proof
  double copy_ms = 0;                            // of which the bulk copy of the heap's memory
  uint64_t copy_bytes = 0;                       // what that copied
  uint64_t spans_reused = 0, spans_decoded = 0;  // with the span pre-read (SpanPreread)
};

// Stop phase: copy what the proof needs. Null, with `why` set, when this build has no heap model
// or the target's heap cannot be read.
// `goroutines`: from the same stop (the stacks of running ones are copied from their sp).
// `preread`: what estimate_proof_capture_bytes kept before this stop (consumed).
HeapSnapshotPtr capture_heap_for_proof(GoRuntime& rt, std::span<const Goroutine> goroutines,
                                       std::string& why, HeapCaptureFigures& figures,
                                       SpanPreread* preread = nullptr);
// Before the stop, on the running process: the bytes capture_heap_for_proof will copy, with
// slack (0 when unknown), to size the pre-faulted snapshot buffer. With `keep`, the heap's span
// metadata read for it is kept there, so that the stop decodes only what changed since.
uint64_t estimate_proof_capture_bytes(GoRuntime& rt, std::shared_ptr<SpanPreread>* keep = nullptr);

// Where an address lies, for reports.
struct ObjectInfo {
  bool in_heap = false;
  uint64_t base = 0, size = 0;
};

// A leak path as the mark found it: the root word, then each heap object from the first one it
// reaches to the object waited on (last), for analysis/leak_paths to name.
struct PathRoot {
  enum Kind : uint8_t { kGlobal, kStack, kOther } kind = kOther;
  RemoteAddr slot, value;
  int64_t goid = -1;
  std::string_view name;  // Root::name (lives as long as the runtime)
  uint64_t offset = 0;
  std::string where;  // Root::where(): "global main.registry+0x8", "goroutine 7 frame f sp+0x18"
};
struct PathObject {
  RemoteAddr base;
  uint64_t size = 0;
  RemoteAddr pointer;                 // the word that led here (root or previous object) held this
  std::optional<uint64_t> next_slot;  // offset from base of the word that leads on
  // The allocation's type as the runtime recorded it (Go 1.22+: allocation header of objects
  // above 512 bytes, mspan.largeType of large ones), and where the typed data starts.
  RemoteAddr alloc_type;
  uint64_t data_offset = 0;
};
struct RawPath {
  PathRoot root;
  std::vector<PathObject> objects;  // the last one holds the object waited on
  RemoteAddr waited;                // the object waited on (a channel, a semaphore's address)
};

struct ProofResult {
  bool ran = false;
  std::string why_not;                      // when !ran
  std::set<uint64_t> leaked;                // proven
  std::map<uint64_t, std::string> unknown;  // candidates that cannot be decided, with why
  std::map<uint64_t, bool> object_marked;   // live candidates: was their object reached in the heap
  std::map<uint64_t, RawPath> paths;        // live candidates asked about (want_path)
  std::map<uint64_t, ObjectInfo> objects;   // by object address asked about
  std::optional<uint64_t> held_bytes;
  std::vector<std::string> problems;
  double ms = 0;
  uint64_t heap_objects = 0, heap_bytes = 0;
};

// After release. `want_path(goid)` says for which live candidates a leak path is wanted.
ProofResult prove_leaks(GoRuntime& rt, HeapSnapshot* heap, std::span<const Goroutine> goroutines,
                        std::span<const ProofCandidate> candidates,
                        const std::function<bool(uint64_t)>& want_path);

}  // namespace ifx
