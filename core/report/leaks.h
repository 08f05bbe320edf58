// Plain data of `ifxray leaks`: goroutines that can never run again (proven), and blocked ones
// that something still refers to but that look stuck (suspect), grouped, with what they wait on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/report/goroutines.h"

namespace ifx::report {

// The object a group waits on (of its first goroutine).
inline constexpr size_t kMaxListedOthers = 1000;

struct BlockedOn {
  std::string kind;  // "channel", "semaphore", "notify list", "nil channel", "no cases"
  uint64_t address = 0;
  // Channels.
  std::string elem_type;  // element type name, or "" when unknown
  uint64_t elem_size = 0;
  uint64_t cap = 0;
  uint64_t len = 0;
  bool closed = false;
  // Goroutine ids queued to send (receive), not of this group, in queue order: the first
  // kMaxListedOthers, and how many there are.
  std::vector<uint64_t> other_senders;
  std::vector<uint64_t> other_receivers;
  size_t other_senders_total = 0;
  size_t other_receivers_total = 0;
  size_t channels = 0;  // select: how many channels in all
  // Semaphores: the heap object that holds it, when it is in the heap.
  uint64_t holder = 0;
  uint64_t holder_size = 0;
  uint64_t holder_offset = 0;
  std::string where;  // "heap", "stack of goroutine N", "global", "not in the heap"
  std::string fact;   // nil channel / select {}: why no one can ever wake it
};

// One hop of a leak path: a root, a heap object and the word of it that leads on, or (last) the
// object waited on. Named from DWARF and the runtime's type descriptors where known:
// "global main.registry", "map value", "*main.Worker .jobs", "chan *main.Job",
// "goroutine 7 frame main.serve local ch"; else by address: "object 0xc000010000 (48 bytes)
// +0x10".
struct PathStep {
  std::string what;
  uint64_t address = 0;  // the root's slot, the object's first byte, the object waited on
  std::string type;      // the static type it was reached through ("*main.Worker"), "" unknown
  std::string field;     // the field path leading on (".jobs", "[3]", "map value"), "" none
};

struct LeakGroup {
  std::string verdict;  // "proven", "suspect", "unknown"
  std::vector<uint64_t> goroutines;
  std::string wait_reason;
  std::optional<int64_t> oldest_wait_minutes;
  std::optional<CreatedBy> created_by;
  std::vector<Frame> frames;  // blocking stack of the first goroutine (shown frames)
  BlockedOn blocked_on;
  std::string reason;          // why it is proven, suspect or unknown
  std::vector<PathStep> path;  // suspects: root → ... → the object waited on
};

struct Leaks {
  std::string go_version;
  uint64_t total = 0;    // goroutines, not dead
  uint64_t blocked = 0;  // waiting in a way that could leak
  uint64_t proven = 0;
  uint64_t suspect = 0;
  uint64_t unknown = 0;
  std::optional<uint64_t> held_bytes;  // heap bytes reachable only from proven leaks
  bool runtime_marked = false;         // the target itself marked goroutines leaked (Go 1.26+)
  std::string engine;                  // how the verdicts were reached
  std::vector<LeakGroup> groups;       // proven first, then suspect, unknown; largest first
  std::vector<std::string> warnings;
  // --watch: group growth across samples (key: created by + wait reason), per minute.
  struct Growth {
    std::string group;
    std::vector<uint64_t> counts;
    double per_minute = 0;
    double seconds = 0;  // between the first and the last sample
  };
  std::vector<Growth> growth;
};

}  // namespace ifx::report
