// Plain data of the heap model's figures (`info --heap`): spans, objects, roots, and for the
// objects asked about (--heap-object) their bounds, pointer words and the roots that reach them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ifx::report {

struct HeapRoot {
  std::string kind;  // data, bss, stack, finalizer, runtime
  std::string where;
  uint64_t slot = 0;
  uint64_t value = 0;
  int64_t goid = -1;
  bool conservative = false;
};

struct HeapObjectQuery {
  uint64_t address = 0;
  bool found = false;  // an allocated object contains it
  uint64_t base = 0;
  uint64_t size = 0;
  bool noscan = false;
  uint64_t mspan = 0;                                   // the runtime's mspan of its span
  std::vector<std::pair<uint64_t, uint64_t>> pointers;  // (offset from base, value)
  std::vector<HeapRoot> roots;                          // roots whose value points into it
};

struct HeapModel {
  uint64_t spans = 0;
  uint64_t scan_spans = 0;
  uint64_t objects = 0;
  uint64_t object_bytes = 0;
  uint64_t span_bytes = 0;
  uint64_t pointers = 0;  // pointer words found in all allocated objects (non-zero)
  uint64_t conservative_objects = 0;
  uint64_t copied_bytes = 0;
  double capture_ms = 0;
  double scan_ms = 0;  // index + every object's pointers
  double roots_ms = 0;
  std::map<std::string, uint64_t> roots;  // by kind
  uint64_t conservative_goroutines = 0;
  std::vector<HeapObjectQuery> queries;
  std::vector<std::string> problems;
};

}  // namespace ifx::report
