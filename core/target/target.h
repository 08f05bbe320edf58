// A target: a live process (stopped while it is read) or a core dump with its executable.
// Everything above this layer reads threads, mappings and memory through this interface.
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/target/memory.h"

namespace ifx {

struct Thread {
  int tid = 0;
  char state = '?';  // as in /proc/PID/task/TID/stat: R, S, D, t, T, Z ...; '?' for cores
  std::string name;  // comm
  bool has_regs = false;
  user_regs_struct regs{};  // amd64 general registers (also elf_prstatus.pr_reg's layout)
};

struct Mapping {
  RemoteAddr start;
  RemoteAddr end;
  uint64_t offset = 0;  // file offset of start
  std::string perms;    // "r-xp" as in /proc/PID/maps
  std::string path;     // backing file, "[heap]", "[stack]", or empty for anonymous
};

struct AuxEntry {
  uint64_t type = 0;  // AT_*
  uint64_t value = 0;
};

// What it cost to read the target; --stats prints it.
struct TargetStats {
  double pause_ms = 0;      // first thread stopped -> last thread resumed; 0 for a core
  double pause_cpu_ms = 0;  // ifxray's CPU time during the pause
  uint64_t bytes_read = 0;  // bytes copied from the target
  uint64_t reads = 0;       // system calls (live) or segment reads (core)
  uint64_t late_bytes = 0;  // bytes read from the running process after release
  // The destination buffer faulted in before the stop (live): its size, how much of it the
  // copies in the stop used, and what they copied into buffers mapped during the stop instead.
  uint64_t reserve_bytes = 0;
  uint64_t reserve_used = 0;
  uint64_t unreserved_bytes = 0;
};

class Target {
 public:
  virtual ~Target() = default;

  virtual bool is_live() const = 0;
  virtual int pid() const = 0;
  // The executable to load: /proc/PID/exe for a live process, the core's (or --exe's) for a core.
  virtual std::string exe_path() const = 0;
  virtual std::vector<std::string> cmdline() const = 0;
  virtual const std::vector<Thread>& threads() const = 0;
  virtual const std::vector<Mapping>& mappings() const = 0;
  virtual const std::vector<AuxEntry>& auxv() const = 0;
  virtual Memory& memory() = 0;
  // Warnings gathered while opening (truncated core, missing ranges, racy read ...).
  virtual const std::vector<std::string>& warnings() const = 0;
  // A live target copies what has been read into its snapshot and lets the process run again;
  // later reads are served from the snapshot only. A core does nothing.
  virtual void release() {}
  // The same, but later reads the snapshot does not hold go to the running process (for memory
  // that is immutable once written; see SnapshotMemory::freeze). Counted in stats().late_bytes.
  virtual void release_with_late_reads() { release(); }
  // After release(): the same as having released with late reads.
  virtual void allow_late_reads() {}
  virtual TargetStats stats() const = 0;
  // CLOCK_MONOTONIC (the Go runtime's nanotime clock) when the process was stopped or dumped, if
  // known: live targets, and cores ifxray wrote.
  virtual std::optional<int64_t> monotonic_ns() const { return std::nullopt; }

  // The auxv value of `type`, or 0.
  uint64_t aux_value(uint64_t type) const {
    for (const auto& a : auxv()) {
      if (a.type == type) return a.value;
    }
    return 0;
  }
};

}  // namespace ifx
