// The runtime's Ms (its OS threads) from the allm list: which thread runs which goroutine.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/runtime/go_runtime.h"

namespace ifx {

struct Machine {
  RemoteAddr m;
  int64_t id = -1;
  std::optional<uint64_t> procid;  // the thread id
  RemoteAddr curg;                 // the goroutine it runs, null when none
  RemoteAddr g0;                   // its system stack's g
  RemoteAddr gsignal;              // its signal stack's g
  uint64_t vdso_sp = 0;            // nonzero while in a vDSO call: the goroutine's sp and pc
  uint64_t vdso_pc = 0;
};

// Walks runtime.allm (bounded); stops quietly at the first unreadable link.
std::vector<Machine> read_machines(GoRuntime& rt);

}  // namespace ifx
