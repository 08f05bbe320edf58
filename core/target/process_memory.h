// Memory of a live process, read with process_vm_readv (many ranges per system call) or, where
// that is unavailable, with pread on /proc/PID/mem. Reads only: nothing here can write.
// Not thread-safe: one reader at a time (it counts its system calls); large batches are split
// between threads inside read_many.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/target/memory.h"
#include "core/target/target.h"

namespace ifx {

class ProcessMemory : public Memory {
 public:
  // `mappings` (from /proc/PID/maps when the process was opened) explain failed reads.
  ProcessMemory(int pid, std::vector<Mapping> mappings);
  ~ProcessMemory() override;
  ProcessMemory(const ProcessMemory&) = delete;
  ProcessMemory& operator=(const ProcessMemory&) = delete;

  size_t read(RemoteAddr addr, std::span<uint8_t> out) override;
  void read_many(std::span<ReadRequest> requests) override;
  std::string why_unreadable(RemoteAddr addr, uint64_t size) override;

  uint64_t bytes_read() const { return bytes_; }
  uint64_t syscalls() const { return syscalls_; }
  bool using_proc_mem() const { return use_proc_mem_; }

 private:
  // System calls and bytes of one thread's reads, added to the totals when it is done.
  struct Tally {
    uint64_t bytes = 0;
    uint64_t syscalls = 0;
    int err = 0;
  };
  // One process_vm_readv call over iovs; returns bytes read or -1 with t.err set.
  ssize_t vm_readv(const iovec* local, const iovec* remote, size_t count, Tally& t) const;
  // Reads one range the slow way, page by page, to find how much of it is readable.
  size_t read_prefix(RemoteAddr addr, std::span<uint8_t> out, Tally& t) const;
  // The requests with process_vm_readv, IOV_MAX ranges per call; safe to run on several
  // threads over disjoint requests. Returns where process_vm_readv was refused (ENOSYS, EPERM)
  // or requests.size().
  size_t readv(std::span<ReadRequest> requests, Tally& t) const;
  // On this thread, falling back to /proc/PID/mem for good when process_vm_readv is refused.
  void read_serial(std::span<ReadRequest> requests);
  void add(const Tally& t);
  size_t pread_mem(RemoteAddr addr, std::span<uint8_t> out);
  void switch_to_proc_mem();

  int pid_;
  std::vector<Mapping> mappings_;
  bool use_proc_mem_ = false;
  int mem_fd_ = -1;
  int last_errno_ = 0;
  uint64_t bytes_ = 0;
  uint64_t syscalls_ = 0;
};

}  // namespace ifx
