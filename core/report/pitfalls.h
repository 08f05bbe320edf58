// Plain data of `ifxray pitfalls`: interface values that are not nil although the value inside
// is a nil pointer, map, chan, func or unsafe.Pointer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ifx::report {

struct Pitfall {
  std::string kind = "typed-nil";
  std::string location;        // `global main.cfg.Logger`, `goroutine 41 frame main.f local err`
  std::string interface_type;  // the static type: "error", "interface {}"
  std::string dynamic_type;    // as %T prints it: "*main.MyErr"
  uint64_t address = 0;        // where the interface value lies (0 when not in memory)
  std::string why;             // why it matters
};

struct Pitfalls {
  std::string go_version;
  std::vector<Pitfall> pitfalls;      // sorted by location
  std::vector<std::string> warnings;  // what could not be examined, and why
  uint64_t globals_scanned = 0;
  uint64_t frames_scanned = 0;
  uint64_t heap_objects_scanned = 0;  // stripped: heap objects whose type the runtime records
  uint64_t channels_scanned = 0;      // stripped: channels goroutines wait on
  uint64_t values_visited = 0;
  bool stopped_at_max_values = false;  // --max-values was reached: the rest was not examined
};

}  // namespace ifx::report
