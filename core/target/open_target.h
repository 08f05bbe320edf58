// Opens what the user named: a pid (live process), a core file, or (for `info`) an executable.
#pragma once

#include <memory>
#include <string>

#include "core/target/target.h"

namespace ifx {

struct TargetOptions {
  std::string exe;       // --exe: the executable of a core when it is not where the core says
  bool force = false;    // --force: accept a core whose executable's build id differs
  bool no_stop = false;  // --no-stop: read a live process without stopping it (racy)
  // Live: bytes of snapshot buffer to fault in before the process is stopped (an estimate of
  // what the analysis will copy), so that the pause is spent copying, not zeroing pages.
  uint64_t snapshot_reserve = 0;
};

enum class TargetKind { kPid, kCore, kExecutable };

// What `spec` names: digits that are a running pid -> kPid (a file named by digits alone is
// reached as ./NAME); an ELF core -> kCore; another ELF file -> kExecutable. Fails with a one-line
// reason (exit 3) for anything else.
TargetKind classify_target(const std::string& spec);

// Opens a live process (ptrace-stopped unless no_stop) or a core file.
std::unique_ptr<Target> open_live(int pid, const TargetOptions& opts);
std::unique_ptr<Target> open_core(const std::string& path, const TargetOptions& opts);

}  // namespace ifx
