// Plain data of `ifxray info PID|CORE`: the executable's facts plus the process's threads,
// mappings and runtime figures. No I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/report/executable.h"
#include "core/report/heap.h"

namespace ifx::report {

struct ThreadInfo {
  int tid = 0;
  char state = '?';
  std::string name;
  bool has_regs = false;
  uint64_t pc = 0;
  uint64_t sp = 0;
  std::string function;  // Go function at pc (innermost frame), empty outside Go code
  std::string file;
  int32_t line = 0;
  std::string location;  // outside Go code: "mapping+0xoffset"
  std::optional<int64_t> m_id;
  std::optional<uint64_t> goroutine;  // goid of the M's current goroutine
};

struct MappingSummary {
  size_t count = 0;
  uint64_t total_bytes = 0;
  uint64_t executable_bytes = 0;  // mappings of the Go executable
  uint64_t library_bytes = 0;     // other file mappings
  uint64_t anonymous_bytes = 0;   // anonymous, heap, stack
};

struct RuntimeFacts {
  std::optional<int64_t> goroutines;  // as runtime.NumGoroutine() counts them
  std::string goroutines_error;
  std::optional<int64_t> gomaxprocs;
  std::optional<int64_t> ncpu;
  std::optional<uint64_t> allglen;
  std::map<std::string, uint64_t> goroutine_states;  // over allgs, system goroutines included
  std::optional<uint64_t> heap_in_use;               // mheap_.pagesInUse * page size
  std::optional<uint64_t> heap_live;                 // gcController.heapLive
  std::optional<uint64_t> heap_marked;               // gcController.heapMarked
  std::optional<uint64_t> num_gc;
  std::optional<uint64_t> pause_total_ns;
  std::optional<uint64_t> last_gc_unix_ns;
  std::string layout_source;
  std::string globals_source;
};

struct TargetInfo {
  Executable exe;
  bool live = false;
  int pid = 0;
  std::vector<std::string> cmdline;
  std::string exe_path;
  std::vector<ThreadInfo> threads;
  MappingSummary mappings;
  RuntimeFacts runtime;
  std::optional<HeapModel> heap_model;  // info --heap
  std::vector<std::string> warnings;
};

}  // namespace ifx::report
