// Stops every thread of a process with ptrace and lets them all run again, on every path:
// normal end, exceptions (destructor) and fatal signals (SIGINT, SIGTERM, SIGHUP, SIGPIPE
// handlers detach and re-raise). If ifxray is SIGKILLed the kernel detaches the seized threads
// and they run on. Never writes target memory or registers. One session at a time per process.
#pragma once

#include <sys/user.h>

#include <chrono>
#include <string>
#include <unordered_map>
#include <vector>

namespace ifx {

struct StoppedThread {
  int tid = 0;
  char state_before = '?';  // from /proc/PID/task/TID/stat just before it was stopped
  std::string name;         // comm
  bool stopped = false;     // in a ptrace stop: registers can be read
  int pending_signal = 0;   // caught in signal-delivery-stop: handed back at detach
  bool exited = false;      // exited while we were stopping it
};

class PtraceSession {
 public:
  // Stops every thread (rescanning /proc/PID/task until no new one appears). Throws Error:
  // no such process / gone (exit 3), not permitted (4, saying what is missing), already traced
  // (5, naming the tracer). On a throw, whatever was stopped has been resumed.
  explicit PtraceSession(int pid);
  ~PtraceSession();
  PtraceSession(const PtraceSession&) = delete;
  PtraceSession& operator=(const PtraceSession&) = delete;

  // Resumes and detaches every thread; idempotent.
  void detach();
  bool attached() const { return attached_; }

  const std::vector<StoppedThread>& threads() const { return threads_; }
  // Registers of a stopped thread (PTRACE_GETREGSET NT_PRSTATUS / NT_PRFPREG).
  bool get_regs(int tid, user_regs_struct& out) const;
  bool get_fpregs(int tid, user_fpregs_struct& out) const;
  // Threads that were seized but did not stop in time (uninterruptible sleep, say).
  std::vector<std::string> warnings() const { return warnings_; }
  // First thread told to stop -> last thread resumed (so far, while still attached).
  double pause_ms() const;
  // ifxray's own CPU time over the same span: what the pause costs without other processes'
  // competition for the CPU (a shared machine stretches pause_ms, not this).
  double pause_cpu_ms() const;

 private:
  void attach_all();
  // Seizes and interrupts tid; false if it is gone. Throws Error when not permitted.
  bool seize(int tid);
  void wait_for_stops(std::chrono::steady_clock::time_point deadline);
  int pid_;
  bool attached_ = false;
  std::vector<StoppedThread> threads_;
  std::vector<std::string> warnings_;
  std::chrono::steady_clock::time_point first_stop_{};
  std::chrono::steady_clock::time_point resumed_{};
  double cpu_at_first_stop_ms_ = 0;
  double cpu_at_resume_ms_ = 0;
  bool any_stop_requested_ = false;
  std::unordered_map<int, size_t> index_;  // tid -> threads_ index, while attaching
  std::unordered_map<int, size_t> slot_;   // tid -> slot of the signal handlers' arrays
  size_t waiting_ = 0;                     // seized threads whose stop is not yet reported
};

// Why ptrace may not attach to pid, as one line: missing capability, ptrace_scope, owner.
// Also used for /proc access failures of --no-stop.
std::string describe_ptrace_denial(int pid);

}  // namespace ifx
