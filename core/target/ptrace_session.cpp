// PTRACE_SEIZE + PTRACE_INTERRUPT of every thread, waits for each stop, and PTRACE_DETACH.
// SEIZE (not ATTACH) so no SIGSTOP is sent: the target's own signals and job control state are
// left as they were, and a signal caught while stopping is handed back at detach.
#include "core/target/ptrace_session.h"

#include <elf.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "core/target/proc_fs.h"
#include "core/util/error.h"

namespace ifx {
namespace {

using Clock = std::chrono::steady_clock;

// --- what the fatal-signal handlers may touch: plain arrays and a lock-free count ---------------
constexpr size_t kMaxThreads = 65536;
int g_tids[kMaxThreads];
int g_signals[kMaxThreads];
std::atomic<size_t> g_count{0};
std::atomic<bool> g_active{false};
constexpr int kFatalSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

// ptrace takes the signal to deliver at detach in its pointer-sized data argument.
void* signal_arg(int sig) {
  return reinterpret_cast<void*>(static_cast<uintptr_t>(sig));  // NOLINT(performance-no-int-to-ptr)
}
struct sigaction g_previous[std::size(kFatalSignals)];

static_assert(std::atomic<size_t>::is_always_lock_free);

void detach_all_raw() {
  size_t n = g_count.load();
  for (size_t i = 0; i < n; ++i) {
    // The raw system call: async-signal-safe, and the signal caught while stopping goes back.
    ::syscall(SYS_ptrace, PTRACE_DETACH, g_tids[i], nullptr, signal_arg(g_signals[i]));
  }
}

void on_fatal_signal(int sig) {
  detach_all_raw();
  g_count.store(0);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, sig);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(sig);  // dies with the signal, as if ifxray had never caught it
}

void install_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  ::sigfillset(&sa.sa_mask);  // no second signal runs the handler concurrently
  for (size_t i = 0; i < std::size(kFatalSignals); ++i) {
    ::sigaction(kFatalSignals[i], &sa, &g_previous[i]);
  }
}

void restore_handlers() {
  for (size_t i = 0; i < std::size(kFatalSignals); ++i) {
    ::sigaction(kFatalSignals[i], &g_previous[i], nullptr);
  }
}

double process_cpu_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::string comm_of(int pid) {
  auto st = procfs::read_stat(pid, pid);
  return st ? st->comm : "?";
}

bool has_cap_sys_ptrace() {
  auto self = procfs::read_status("/proc/self/status");
  return self && (self->cap_effective & (uint64_t{1} << 19)) != 0;  // CAP_SYS_PTRACE = 19
}

[[noreturn]] void fail_busy(int pid, int tracer) {
  throw Error(fmt::format("process {} is already traced by pid {} ({}); detach that debugger first",
                          pid, tracer, comm_of(tracer)),
              ExitCode::kTargetBusy);
}

}  // namespace

std::string describe_ptrace_denial(int pid) {
  std::vector<std::string> why;
  uid_t me = ::geteuid();
  if (me != 0 && !has_cap_sys_ptrace())
    why.emplace_back("ifxray is not root and lacks CAP_SYS_PTRACE");
  if (auto st = procfs::read_status(procfs::pid_path(pid, "status"))) {
    if (st->uid != me || st->euid != me) {
      why.push_back(
          fmt::format("the process belongs to uid {} and ifxray runs as uid {}", st->uid, me));
    }
  }
  if (auto scope = procfs::read_file("/proc/sys/kernel/yama/ptrace_scope")) {
    int v = scope->empty() ? 0 : (*scope)[0] - '0';
    static const char* const kScope[] = {"", "only a parent process may attach",
                                         "only CAP_SYS_PTRACE may attach", "ptrace is disabled"};
    if (v >= 1 && v <= 3) {
      why.push_back(fmt::format("/proc/sys/kernel/yama/ptrace_scope is {} ({})", v, kScope[v]));
    }
  }
  if (why.empty()) {
    why.emplace_back("the process may be non-dumpable (setuid) or protected by a security module");
  }
  std::string out;
  for (const auto& w : why) out += (out.empty() ? "" : "; ") + w;
  return out;
}

PtraceSession::PtraceSession(int pid) : pid_(pid) {
  if (g_active.exchange(true)) throw std::logic_error("a second ptrace session in one process");
  install_handlers();
  attached_ = true;
  try {
    attach_all();
  } catch (...) {
    detach();
    throw;
  }
}

PtraceSession::~PtraceSession() {
  detach();
}

bool PtraceSession::seize(int tid) {
  size_t slot = g_count.load();
  if (slot >= kMaxThreads) fail("process {} has more than {} threads", pid_, kMaxThreads);
  // Registered before the seize, so a signal arriving just after it still detaches this one.
  g_tids[slot] = tid;
  g_signals[slot] = 0;
  g_count.store(slot + 1);
  slot_[tid] = slot;
  if (::ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) {
    int err = errno;
    if (err == ESRCH) return false;  // exited meanwhile
    auto st = procfs::read_status(procfs::task_path(pid_, tid, "status"));
    if (st && st->tracer_pid != 0) fail_busy(pid_, st->tracer_pid);
    if (err == EPERM) {
      throw Error(fmt::format("cannot attach to process {}: not permitted: {}", pid_,
                              describe_ptrace_denial(pid_)),
                  ExitCode::kNotPermitted);
    }
    fail("cannot attach to thread {} of process {}: {}", tid, pid_, std::strerror(err));
  }
  if (!any_stop_requested_) {
    first_stop_ = Clock::now();
    cpu_at_first_stop_ms_ = process_cpu_ms();
    any_stop_requested_ = true;
  }
  if (::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0 && errno == ESRCH) return false;
  return true;
}

void PtraceSession::attach_all() {
  std::set<int> known;
  auto deadline = Clock::now() + std::chrono::seconds(5);
  for (int round = 0;; ++round) {
    std::vector<int> tids = procfs::list_tasks(pid_);
    if (tids.empty() && round == 0) fail("no process with pid {}", pid_);
    bool added = false;
    for (int tid : tids) {
      if (!known.insert(tid).second) continue;
      auto st = procfs::read_stat(pid_, tid);  // what it was doing before we stopped it
      if (!st) continue;
      StoppedThread t{tid, st->state, st->comm, false, 0, false};
      if (st->state == 'Z' || st->state == 'X') {
        threads_.push_back(t);  // a dead thread cannot stop; keep it listed, without registers
        continue;
      }
      if (!seize(tid)) continue;
      index_[tid] = threads_.size();
      threads_.push_back(t);
      ++waiting_;
      added = true;
    }
    // Threads that exited meanwhile drop out; the rest must stop before the next scan, so a
    // stopped thread cannot create one we would miss.
    if (added) wait_for_stops(deadline);
    if (!added && round > 0) break;
  }
  std::erase_if(threads_, [](const StoppedThread& t) { return t.exited; });
  index_.clear();
  if (std::none_of(threads_.begin(), threads_.end(), [](auto& t) { return t.stopped; })) {
    fail("process {} exited while ifxray was attaching to it", pid_);
  }
  // The thread-group leader first (gdb and the kernel put it first), then by tid.
  std::stable_sort(threads_.begin(), threads_.end(), [this](auto& a, auto& b) {
    return (a.tid == pid_) != (b.tid == pid_) ? a.tid == pid_ : a.tid < b.tid;
  });
  for (const auto& t : threads_) {
    if (!t.stopped && t.state_before != 'Z' && t.state_before != 'X') {
      warnings_.push_back(fmt::format(
          "thread {} did not stop (state {}); its registers are unknown", t.tid, t.state_before));
    }
  }
}

void PtraceSession::wait_for_stops(Clock::time_point deadline) {
  // SIGCHLD reports each ptrace stop; blocking it lets sigtimedwait sleep until the next one.
  sigset_t chld, old;
  ::sigemptyset(&chld);
  ::sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, &old);
  while (waiting_ > 0) {
    int status = 0;
    pid_t r = ::waitpid(-1, &status, __WALL | WNOHANG);
    if (r > 0) {
      auto it = index_.find(r);
      if (it == index_.end()) continue;  // not one of ours
      StoppedThread& t = threads_[it->second];
      if (t.stopped || t.exited) continue;
      if (WIFSTOPPED(status)) {
        t.stopped = true;
        // A plain signal-delivery-stop (no event in the high bits): the signal would be lost
        // if we did not hand it back at detach.
        if ((status >> 16) == 0) {
          t.pending_signal = WSTOPSIG(status);
          g_signals[slot_[r]] = t.pending_signal;
        }
        --waiting_;
      } else if (WIFEXITED(status) || WIFSIGNALED(status)) {
        t.exited = true;
        --waiting_;
      }
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;  // ECHILD: no tracee left
    auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) break;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    ::sigtimedwait(&chld, nullptr, &ts);
  }
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
}

void PtraceSession::detach() {
  if (!attached_) return;
  for (const auto& t : threads_) {
    if (!t.stopped) continue;
    ::ptrace(PTRACE_DETACH, t.tid, nullptr, signal_arg(t.pending_signal));
  }
  resumed_ = Clock::now();
  cpu_at_resume_ms_ = process_cpu_ms();
  // Seized threads that never stopped are detached by the kernel when ifxray exits.
  g_count.store(0);
  restore_handlers();
  g_active.store(false);
  attached_ = false;
}

double PtraceSession::pause_ms() const {
  if (!any_stop_requested_) return 0;
  auto end = attached_ ? Clock::now() : resumed_;
  return std::chrono::duration<double, std::milli>(end - first_stop_).count();
}

double PtraceSession::pause_cpu_ms() const {
  if (!any_stop_requested_) return 0;
  return (attached_ ? process_cpu_ms() : cpu_at_resume_ms_) - cpu_at_first_stop_ms_;
}

bool PtraceSession::get_regs(int tid, user_regs_struct& out) const {
  iovec iov{&out, sizeof out};
  return attached_ && ::ptrace(PTRACE_GETREGSET, tid, NT_PRSTATUS, &iov) == 0 &&
         iov.iov_len == sizeof out;
}

bool PtraceSession::get_fpregs(int tid, user_fpregs_struct& out) const {
  iovec iov{&out, sizeof out};
  return attached_ && ::ptrace(PTRACE_GETREGSET, tid, NT_FPREGSET, &iov) == 0 &&
         iov.iov_len == sizeof out;
}

}  // namespace ifx
