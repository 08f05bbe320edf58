// Bulk reads of a live process. process_vm_readv stops at the first page it cannot read and
// reports how much it copied, so a batch that fails part-way is resumed after the failing range.
#include "core/target/process_memory.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace ifx {
namespace {

constexpr size_t kMaxIov = IOV_MAX;
constexpr uint64_t kPage = 4096;
// Batches this big are copied by several threads at once.
constexpr uint64_t kParallelBytes = 16 << 20;
constexpr unsigned kMaxCopyThreads = 4;

iovec iov_of(void* p, size_t n) {
  return iovec{p, n};
}
iovec remote_iov(RemoteAddr a, size_t n) {
  // process_vm_readv names remote ranges with iovecs; the address is never dereferenced here.
  return iovec{reinterpret_cast<void*>(a.value()), n};  // NOLINT(performance-no-int-to-ptr)
}

}  // namespace

ProcessMemory::ProcessMemory(int pid, std::vector<Mapping> mappings)
    : pid_(pid), mappings_(std::move(mappings)) {
  std::sort(mappings_.begin(), mappings_.end(),
            [](const Mapping& a, const Mapping& b) { return a.start < b.start; });
}

ProcessMemory::~ProcessMemory() {
  if (mem_fd_ >= 0) ::close(mem_fd_);
}

ssize_t ProcessMemory::vm_readv(const iovec* local, const iovec* remote, size_t count,
                                Tally& t) const {
  ++t.syscalls;
  ssize_t n = ::process_vm_readv(pid_, local, count, remote, count, 0);
  if (n < 0) {
    t.err = errno;
  } else {
    t.bytes += static_cast<uint64_t>(n);
  }
  return n;
}

void ProcessMemory::add(const Tally& t) {
  bytes_ += t.bytes;
  syscalls_ += t.syscalls;
  if (t.err != 0) last_errno_ = t.err;
}

void ProcessMemory::switch_to_proc_mem() {
  use_proc_mem_ = true;
  mem_fd_ = ::open(fmt::format("/proc/{}/mem", pid_).c_str(), O_RDONLY | O_CLOEXEC);
  if (mem_fd_ < 0) last_errno_ = errno;
}

size_t ProcessMemory::read_prefix(RemoteAddr addr, std::span<uint8_t> out, Tally& t) const {
  // One iovec per page: the count returned is then exactly the readable prefix.
  std::vector<iovec> local, remote;
  size_t done = 0;
  while (done < out.size()) {
    local.clear();
    remote.clear();
    size_t off = done;
    while (off < out.size() && local.size() < kMaxIov) {
      RemoteAddr at = addr + off;
      size_t len = std::min<uint64_t>(kPage - at.value() % kPage, out.size() - off);
      local.push_back(iov_of(out.data() + off, len));
      remote.push_back(remote_iov(at, len));
      off += len;
    }
    ssize_t n = vm_readv(local.data(), remote.data(), local.size(), t);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
    if (done < off) break;
  }
  return done;
}

size_t ProcessMemory::readv(std::span<ReadRequest> requests, Tally& t) const {
  std::vector<iovec> local, remote;
  std::vector<size_t> index;  // request of each iovec
  size_t next = 0;
  while (next < requests.size()) {
    local.clear();
    remote.clear();
    index.clear();
    for (; next < requests.size() && local.size() < kMaxIov; ++next) {
      auto& r = requests[next];
      if (r.out.empty()) continue;
      local.push_back(iov_of(r.out.data(), r.out.size()));
      remote.push_back(remote_iov(r.addr, r.out.size()));
      index.push_back(next);
    }
    if (local.empty()) break;
    ssize_t n = vm_readv(local.data(), remote.data(), local.size(), t);
    // Seccomp filters (containers) often refuse process_vm_readv; /proc/PID/mem may work.
    if (n < 0 && (t.err == ENOSYS || t.err == EPERM)) return index.front();
    if (n < 0 && t.err == ESRCH) return requests.size();  // the process is gone
    // Hand the copied bytes to the requests in order; the first one left short is where the
    // call stopped. Find its readable prefix, then resume with the request after it.
    size_t left = n < 0 ? 0 : static_cast<size_t>(n);
    for (size_t k = 0; k < index.size(); ++k) {
      auto& r = requests[index[k]];
      size_t got = std::min(left, r.out.size());
      left -= got;
      r.done = got;
      if (got < r.out.size()) {
        r.done += read_prefix(r.addr + got, r.out.subspan(got), t);
        next = index[k] + 1;
        break;
      }
    }
  }
  return requests.size();
}

void ProcessMemory::read_serial(std::span<ReadRequest> requests) {
  size_t next = 0;
  if (!use_proc_mem_) {
    Tally t;
    next = readv(requests, t);
    add(t);
    if (next == requests.size()) return;
    switch_to_proc_mem();
  }
  for (; next < requests.size(); ++next) {
    requests[next].done = pread_mem(requests[next].addr, requests[next].out);
  }
}

size_t ProcessMemory::pread_mem(RemoteAddr addr, std::span<uint8_t> out) {
  // /proc/PID/mem reads with FOLL_FORCE, which would fault in pages of PROT_NONE reservations;
  // read only what the maps say is readable so the target's memory use is left alone.
  size_t allowed = 0;
  for (const auto& m : mappings_) {
    RemoteAddr at = addr + allowed;
    if (allowed == out.size() || m.start > at) break;
    if (m.end <= at) continue;
    if (m.perms[0] != 'r') break;
    allowed += std::min<uint64_t>(m.end - at, out.size() - allowed);
  }
  if (mem_fd_ < 0 || addr.value() > static_cast<uint64_t>(INT64_MAX)) return 0;
  size_t done = 0;
  while (done < allowed) {
    ++syscalls_;
    ssize_t n = ::pread(mem_fd_, out.data() + done, allowed - done,
                        static_cast<off_t>(addr.value() + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      last_errno_ = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<size_t>(n);
    bytes_ += static_cast<uint64_t>(n);
  }
  return done;
}

size_t ProcessMemory::read(RemoteAddr addr, std::span<uint8_t> out) {
  ReadRequest r{addr, out, 0};
  read_many(std::span<ReadRequest>(&r, 1));
  return r.done;
}

void ProcessMemory::read_many(std::span<ReadRequest> requests) {
  for (auto& r : requests) r.done = 0;
  uint64_t total = 0;
  for (const auto& r : requests) total += r.out.size();
  unsigned threads = std::min<unsigned>(kMaxCopyThreads, std::thread::hardware_concurrency());
  if (use_proc_mem_ || threads < 2 || total < kParallelBytes || requests.size() < 2 * kMaxIov) {
    read_serial(requests);
    return;
  }
  // Copying hundreds of MiB is the pause: split it between threads by bytes, each with its
  // own system calls into its own part of the requests.
  std::vector<std::span<ReadRequest>> parts;
  uint64_t share = total / threads + 1, acc = 0;
  size_t begin = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    acc += requests[i].out.size();
    if (acc >= share || i + 1 == requests.size()) {
      parts.push_back(requests.subspan(begin, i + 1 - begin));
      begin = i + 1;
      acc = 0;
    }
  }
  std::vector<Tally> tallies(parts.size());
  std::vector<size_t> stopped(parts.size(), 0);
  std::vector<std::thread> workers;
  for (size_t k = 1; k < parts.size(); ++k) {
    workers.emplace_back(
        [this, &parts, &tallies, &stopped, k] { stopped[k] = readv(parts[k], tallies[k]); });
  }
  stopped[0] = readv(parts[0], tallies[0]);
  for (auto& w : workers) w.join();
  for (size_t k = 0; k < parts.size(); ++k) {
    add(tallies[k]);
    // A part that process_vm_readv refused goes on through /proc/PID/mem.
    if (stopped[k] < parts[k].size()) read_serial(parts[k].subspan(stopped[k]));
  }
}

std::string ProcessMemory::why_unreadable(RemoteAddr addr, uint64_t size) {
  if (last_errno_ == ESRCH) return "the process has exited";
  RemoteAddr at = addr;
  RemoteAddr end = addr + size;
  for (const auto& m : mappings_) {
    if (at >= end) break;
    if (m.end <= at) continue;
    if (m.start > at) return fmt::format("not mapped at {}", at);
    if (m.perms[0] != 'r') return fmt::format("not readable ({} mapping at {})", m.perms, m.start);
    at = m.end;
  }
  if (at < end) return fmt::format("not mapped at {}", at);
  if (last_errno_ != 0) return fmt::format("read failed: {}", std::strerror(last_errno_));
  return "read failed";
}

}  // namespace ifx
