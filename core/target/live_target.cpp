// Opening a live process: checks that say clearly why it cannot be read, the ptrace stop, and
// everything /proc tells about the process while it is stopped.
#include "core/target/live_target.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>

#include <fmt/format.h>

#include "core/target/proc_fs.h"
#include "core/util/error.h"

namespace ifx {
namespace {

// Test hook, not a feature: IFXRAY_TEST_STOP_DELAY_MS=N keeps the process stopped N ms longer
// so the integration tests can kill or signal ifxray while it holds the process.
void test_stop_delay() {
  const char* v = std::getenv("IFXRAY_TEST_STOP_DELAY_MS");
  if (v == nullptr) return;
  long ms = std::strtol(v, nullptr, 10);
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace

void check_live_target(int pid, bool will_stop) {
  if (pid <= 0) fail("no process with pid {}", pid);
  if (pid == ::getpid()) fail("{} is ifxray itself", pid);
  int err = 0;
  auto text = procfs::read_file(procfs::pid_path(pid, "status"), &err);
  if (!text) {
    if (err == EACCES || err == EPERM) {
      throw Error(fmt::format("cannot read process {}: not permitted: {}", pid,
                              describe_ptrace_denial(pid)),
                  ExitCode::kNotPermitted);
    }
    fail("no process with pid {}", pid);
  }
  auto st = procfs::parse_status(*text);
  if (!st) fail("cannot read /proc/{}/status", pid);
  if (st->tgid != 0 && st->tgid != pid) {
    fail("{} is a thread of process {}; name the process", pid, st->tgid);
  }
  if (st->state == 'Z' || st->state == 'X') {
    fail("process {} has exited (a zombie: its parent has not reaped it yet)", pid);
  }
  // Opening /proc/PID/mem asks the kernel the ptrace access question without attaching.
  int fd = ::open(procfs::pid_path(pid, "mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && (errno == EACCES || errno == EPERM)) {
    throw Error(
        fmt::format("cannot read process {}: not permitted: {}", pid, describe_ptrace_denial(pid)),
        ExitCode::kNotPermitted);
  }
  if (fd >= 0) ::close(fd);
  if (will_stop && st->tracer_pid != 0 && st->tracer_pid != ::getpid()) {
    auto tracer = procfs::read_stat(st->tracer_pid, st->tracer_pid);
    throw Error(fmt::format("process {} is already traced by pid {} ({}); detach that debugger "
                            "first",
                            pid, st->tracer_pid, tracer ? tracer->comm : "?"),
                ExitCode::kTargetBusy);
  }
}

namespace {

std::string resolve_exe(int pid) {
  std::string proc = procfs::pid_path(pid, "exe");
  auto link = procfs::read_link(proc);
  // A deleted or replaced executable stays readable through /proc/PID/exe while the process runs.
  if (!link || link->ends_with(" (deleted)") || ::access(link->c_str(), R_OK) != 0) return proc;
  return *link;
}

}  // namespace

std::unique_ptr<Target> open_live(int pid, const TargetOptions& opts) {
  return LiveTarget::open(pid, opts);
}

std::unique_ptr<LiveTarget> LiveTarget::open(int pid, const TargetOptions& opts) {
  check_live_target(pid, !opts.no_stop);
  return std::unique_ptr<LiveTarget>(new LiveTarget(pid, opts.no_stop, opts.snapshot_reserve));
}

LiveTarget::LiveTarget(int pid, bool no_stop, uint64_t snapshot_reserve) : pid_(pid) {
  // Faulted in before the stop; owned by the snapshot once it exists.
  std::unique_ptr<void, std::function<void(void*)>> reserve(
      no_stop ? nullptr : allocate_populated_snapshot_buffer(snapshot_reserve),
      [snapshot_reserve](void* p) {
        if (p != nullptr) free_snapshot_buffer(p, populated_snapshot_buffer_size(snapshot_reserve));
      });
  if (no_stop) {
    warnings_.emplace_back("read without stopping the process: the result may be inconsistent");
  } else {
    session_ = std::make_unique<PtraceSession>(pid);
    for (const auto& w : session_->warnings()) warnings_.push_back(w);
  }
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);  // the runtime's nanotime clock, same machine
  monotonic_ns_ = int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
  // Everything below is read while the process is stopped, so it agrees with its memory.
  int err = 0;
  auto maps = procfs::read_file(procfs::pid_path(pid, "maps"), &err);
  if (!maps) {
    if (err == EACCES || err == EPERM) {
      throw Error(fmt::format("cannot read the mappings of process {}: not permitted: {}", pid,
                              describe_ptrace_denial(pid)),
                  ExitCode::kNotPermitted);
    }
    fail("cannot read the mappings of process {}: {}", pid, std::strerror(err));
  }
  mappings_ = procfs::parse_maps(*maps);
  if (auto aux = procfs::read_file(procfs::pid_path(pid, "auxv"))) {
    auxv_raw_.assign(aux->begin(), aux->end());
    auxv_ = procfs::parse_auxv(auxv_raw_);
  } else {
    warnings_.push_back(fmt::format("cannot read /proc/{}/auxv", pid));
  }
  if (auto cmd = procfs::read_file(procfs::pid_path(pid, "cmdline"))) {
    cmdline_ = procfs::parse_cmdline(*cmd);
  }
  exe_path_ = resolve_exe(pid);
  read_threads(no_stop);
  process_memory_ = std::make_unique<ProcessMemory>(pid, mappings_);
  if (!no_stop) {
    snapshot_ = std::make_unique<SnapshotMemory>(*process_memory_);
    if (reserve) reserve_bytes_ = populated_snapshot_buffer_size(snapshot_reserve);
    snapshot_->give_reserve(reserve.release(), snapshot_reserve);
    test_stop_delay();
  }
}

LiveTarget::~LiveTarget() {
  release();
}

void LiveTarget::read_threads(bool no_stop) {
  if (no_stop) {
    // Without a stop only a blocked thread's sp and pc are known (from /proc/.../syscall);
    // they are filled in regs.rsp/rip while has_regs stays false: the rest is unknown.
    for (int tid : procfs::list_tasks(pid_)) {
      auto st = procfs::read_stat(pid_, tid);
      if (!st) continue;
      Thread t{tid, st->state, st->comm, false, {}};
      if (auto sc = procfs::read_file(procfs::task_path(pid_, tid, "syscall"))) {
        if (auto at = procfs::parse_syscall(*sc)) {
          t.regs.rsp = at->sp;
          t.regs.rip = at->pc;
        }
      }
      threads_.push_back(std::move(t));
    }
    return;
  }
  for (const auto& s : session_->threads()) {
    Thread t{s.tid, s.state_before, s.name, false, {}};
    if (s.stopped) {
      t.has_regs = session_->get_regs(s.tid, t.regs);
      user_fpregs_struct fp{};
      if (session_->get_fpregs(s.tid, fp)) fpregs_[s.tid] = fp;
      if (!t.has_regs)
        warnings_.push_back(fmt::format("cannot read registers of thread {}", s.tid));
    }
    threads_.push_back(std::move(t));
  }
}

Memory& LiveTarget::memory() {
  if (snapshot_) return *snapshot_;
  return *process_memory_;
}

void LiveTarget::release() {
  if (!session_ || !session_->attached()) return;
  snapshot_->freeze();
  session_->detach();
}

void LiveTarget::release_with_late_reads() {
  if (!session_ || !session_->attached()) return;
  snapshot_->freeze(true);
  session_->detach();
}

void LiveTarget::allow_late_reads() {
  if (snapshot_) snapshot_->allow_late_reads();
}

TargetStats LiveTarget::stats() const {
  TargetStats s;
  s.pause_ms = session_ ? session_->pause_ms() : 0;
  s.pause_cpu_ms = session_ ? session_->pause_cpu_ms() : 0;
  if (process_memory_) {
    s.bytes_read = process_memory_->bytes_read();
    s.reads = process_memory_->syscalls();
  }
  if (snapshot_) {
    s.late_bytes = snapshot_->late_bytes();
    s.reserve_bytes = reserve_bytes_;
    s.reserve_used = snapshot_->reserve_used();
    s.unreserved_bytes = snapshot_->unreserved_bytes();
  }
  return s;
}

const user_fpregs_struct* LiveTarget::fpregs(int tid) const {
  auto it = fpregs_.find(tid);
  return it == fpregs_.end() ? nullptr : &it->second;
}

}  // namespace ifx
