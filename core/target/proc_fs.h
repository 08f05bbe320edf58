// Reading a live process's /proc files: tasks, their state, maps, auxv, cmdline, status.
// The parsers take text so unit tests can feed them; the readers add the /proc paths.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/target/target.h"

namespace ifx::procfs {

std::string pid_path(int pid, std::string_view rest);            // /proc/PID/rest
std::string task_path(int pid, int tid, std::string_view rest);  // /proc/PID/task/TID/rest

// The whole content of a (/proc) file, read until EOF; nullopt with *err = errno on failure.
std::optional<std::string> read_file(const std::string& path, int* err = nullptr);

// The tids in /proc/PID/task, ascending; empty if the process is gone or unreadable.
std::vector<int> list_tasks(int pid);

// The fields of /proc/PID/task/TID/stat that ifxray uses (proc(5) numbering in comments).
struct TaskStat {
  std::string comm;                                       // (2), without the parentheses
  char state = '?';                                       // (3)
  int ppid = 0;                                           // (4)
  int pgrp = 0;                                           // (5)
  int session = 0;                                        // (6)
  uint64_t flags = 0;                                     // (9)
  uint64_t utime = 0, stime = 0, cutime = 0, cstime = 0;  // (14)-(17), clock ticks
  int64_t nice = 0;                                       // (19)
};
std::optional<TaskStat> parse_stat(std::string_view text);
std::optional<TaskStat> read_stat(int pid, int tid);

// The lines of /proc/PID/status that matter for attaching and for core notes.
struct Status {
  char state = '?';
  int tgid = 0;  // the process a tid belongs to
  int tracer_pid = 0;
  uid_t uid = 0, euid = 0;
  gid_t gid = 0, egid = 0;
  uint64_t sig_pending = 0;  // SigPnd | ShdPnd
  uint64_t sig_blocked = 0;  // SigBlk
  uint64_t cap_effective = 0;
};
std::optional<Status> parse_status(std::string_view text);
std::optional<Status> read_status(const std::string& path);

std::vector<Mapping> parse_maps(std::string_view text);
std::vector<AuxEntry> parse_auxv(std::span<const uint8_t> raw);
std::vector<std::string> parse_cmdline(std::string_view raw);

// /proc/PID/task/TID/syscall: the stack pointer and pc of a thread that is blocked (in a
// system call or not); nullopt for a running thread or unreadable text.
struct BlockedAt {
  uint64_t sp = 0;
  uint64_t pc = 0;
};
std::optional<BlockedAt> parse_syscall(std::string_view text);

// readlink(2) of path; nullopt if it cannot be read.
std::optional<std::string> read_link(const std::string& path);

}  // namespace ifx::procfs
