// Writes a standard amd64 ELF core file (ET_CORE) that gdb, Delve and ifxray read: one PT_NOTE
// (NT_PRSTATUS + NT_FPREGSET per thread, NT_PRPSINFO, NT_AUXV, NT_FILE and an "IFXRAY" note),
// then PT_LOADs whose file bytes come from a Memory (a frozen snapshot, usually).
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/target/memory.h"
#include "core/target/target.h"

namespace ifx {

// The IFXRAY note (name "IFXRAY", type 'IFXR', desc: u32 version, u32 zero, and from version 2
// i64 CLOCK_MONOTONIC ns when the process was stopped, -1 if unknown) says: PT_LOAD bytes past
// p_filesz that no NT_FILE entry backs are pages the process never touched, and read as zeros;
// and when the dump was taken on the clock the Go runtime's nanotime() reads.
inline constexpr uint32_t kIfxrayNoteType = 0x49465852;
inline constexpr uint32_t kIfxrayNoteVersion = 2;

struct CoreThread {
  int tid = 0;
  user_regs_struct regs{};
  bool has_fpregs = false;
  user_fpregs_struct fpregs{};
  uint64_t sig_pending = 0;
  uint64_t sig_blocked = 0;
  uint64_t utime_ticks = 0, stime_ticks = 0;  // clock ticks, from /proc/PID/task/TID/stat
};

struct CoreProcess {
  int pid = 0, ppid = 0, pgrp = 0, sid = 0;
  uint32_t uid = 0, gid = 0;
  char state = 'R';
  int64_t nice = 0;
  uint64_t flags = 0;
  std::string comm;    // NT_PRPSINFO pr_fname (16 bytes)
  std::string psargs;  // the command line, space-separated (80 bytes)
};

struct CoreSegment {
  RemoteAddr vaddr;
  uint64_t memsz = 0;
  uint64_t filesz = 0;  // bytes [vaddr, vaddr + filesz) are written; the rest is not in the file
  uint32_t flags = 0;   // PF_R | PF_W | PF_X
  // The file bytes are zeros: every such segment points at one block of zeros in the file (as
  // long as the longest of them), so readers that take only p_filesz bytes (Delve) read zeros
  // there without the core growing by each zero run.
  bool zeros = false;
};

struct CoreImage {
  CoreProcess process;
  std::vector<CoreThread> threads;  // the first one is the "current" thread for debuggers
  std::vector<uint8_t> auxv;        // /proc/PID/auxv as it is
  std::vector<Mapping> files;       // file-backed mappings, for NT_FILE
  std::vector<CoreSegment> segments;
  std::optional<int64_t> monotonic_ns;  // CLOCK_MONOTONIC when the process was stopped
};

struct CoreWriteResult {
  uint64_t file_size = 0;
  uint64_t data_bytes = 0;        // PT_LOAD bytes in the file (the shared zero block once)
  uint64_t unreadable_bytes = 0;  // segment bytes `memory` could not give, written as zeros
};

// Writes the core to `path` (created 0600, like the kernel's cores: they hold secrets). The
// segments' file bytes are read from `memory`. Throws Error (exit 3) when the file cannot be
// written; a partly written file is removed.
CoreWriteResult write_core(const std::string& path, const CoreImage& image, Memory& memory);

// The note section alone (exposed for unit tests).
std::vector<uint8_t> build_core_notes(const CoreImage& image);

}  // namespace ifx
