// `ifxray gcore`: a compact core of a live process. Only pages the process has touched
// (/proc/PID/pagemap: present or swapped) and that are not all zeros are written; the other
// ranges become PT_LOADs without file bytes (their first MiB backed by a shared block of zeros
// in anonymous memory, for Delve), and read-only file mappings are left to the files
// NT_FILE names (their first page is kept when it is an ELF header, so build ids are in the
// core). The process is stopped only while the pages are copied; the file is written after it
// runs again.
#pragma once

#include <string>
#include <vector>

#include "core/target/core_writer.h"
#include "core/target/live_target.h"

namespace ifx {

struct GcoreResult {
  std::string path;
  uint64_t file_size = 0;
  uint64_t data_bytes = 0;
  size_t threads = 0;
  size_t segments = 0;
  double pause_ms = 0;
  double total_ms = 0;
  std::vector<std::string> warnings;
};

// A PT_LOAD to be, and whether its bytes are anonymous memory (no file behind them).
struct PlannedSegment {
  CoreSegment segment;
  bool anonymous = false;
};

// How much of each run of zeros in anonymous memory the core backs with file bytes (one shared
// block of zeros): enough for any object's tail that runs into a zero page.
inline constexpr uint64_t kZeroBacked = uint64_t{1} << 20;

// The PT_LOADs to write for the planned segments, once their pages are in `memory`: anonymous
// pages that hold only zeros, and untouched runs, become `zeros` segments (the first
// kZeroBacked bytes of each run) and segments without file bytes (the rest).
std::vector<CoreSegment> segments_for_core(const std::vector<PlannedSegment>& planned,
                                           Memory& memory);

// Plans the PT_LOADs of a stopped target from its maps and pagemap.
std::vector<PlannedSegment> plan_segments(LiveTarget& target, std::vector<std::string>& warnings);

// Stops pid, copies its touched pages, resumes it and writes the core to path.
GcoreResult gcore(int pid, const std::string& path);

}  // namespace ifx
