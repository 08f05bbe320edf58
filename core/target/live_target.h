// A live process as a Target: stopped with ptrace while the analysis copies what it needs into
// a snapshot, then released (resumed and detached) to be decoded at leisure. With --no-stop it
// is never stopped and reads go straight to the process (racy; a warning says so).
#pragma once

#include <sys/user.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>

#include "core/target/open_target.h"
#include "core/target/process_memory.h"
#include "core/target/ptrace_session.h"
#include "core/target/snapshot_memory.h"
#include "core/target/target.h"

namespace ifx {

// The checks that need no ptrace, with their one-line errors: the pid exists and is a process
// (not a thread), it has not exited (zombie), ifxray may trace it (exit 4, saying what is
// missing), and, when it will be stopped, no debugger traces it already (exit 5). open() runs
// them; callers that read /proc/PID/exe before opening should run them first.
void check_live_target(int pid, bool will_stop);

class LiveTarget : public Target {
 public:
  // Throws Error: no such process or a zombie (exit 3), not permitted (4), already traced (5).
  static std::unique_ptr<LiveTarget> open(int pid, const TargetOptions& opts);
  ~LiveTarget() override;

  bool is_live() const override { return true; }
  int pid() const override { return pid_; }
  std::string exe_path() const override { return exe_path_; }
  std::vector<std::string> cmdline() const override { return cmdline_; }
  const std::vector<Thread>& threads() const override { return threads_; }
  const std::vector<Mapping>& mappings() const override { return mappings_; }
  const std::vector<AuxEntry>& auxv() const override { return auxv_; }
  Memory& memory() override;
  const std::vector<std::string>& warnings() const override { return warnings_; }
  void release() override;
  void release_with_late_reads() override;
  void allow_late_reads() override;
  TargetStats stats() const override;
  std::optional<int64_t> monotonic_ns() const override { return monotonic_ns_; }

  // What gcore needs beyond the Target interface, captured while the process was stopped.
  bool stopped() const { return session_ && session_->attached(); }
  const user_fpregs_struct* fpregs(int tid) const;
  const std::vector<uint8_t>& auxv_raw() const { return auxv_raw_; }
  // Copies the ranges into the snapshot while stopped (no-op with --no-stop or once released).
  void capture(std::span<const RemoteRange> ranges) {
    if (snapshot_) snapshot_->capture(ranges);
  }

 private:
  LiveTarget(int pid, bool no_stop, uint64_t snapshot_reserve);
  void read_threads(bool no_stop);

  int pid_;
  std::string exe_path_;
  std::vector<std::string> cmdline_;
  std::vector<Thread> threads_;
  std::map<int, user_fpregs_struct> fpregs_;
  std::vector<Mapping> mappings_;
  std::vector<uint8_t> auxv_raw_;
  std::vector<AuxEntry> auxv_;
  std::vector<std::string> warnings_;
  std::unique_ptr<ProcessMemory> process_memory_;
  std::unique_ptr<SnapshotMemory> snapshot_;  // null with --no-stop
  std::unique_ptr<PtraceSession> session_;
  uint64_t reserve_bytes_ = 0;           // the pre-faulted snapshot buffer given to snapshot_
  std::optional<int64_t> monotonic_ns_;  // when every thread had stopped (or opening, --no-stop)
};

}  // namespace ifx
