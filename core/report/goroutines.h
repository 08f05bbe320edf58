// Plain data of `ifxray frames`: every goroutine with its frames, as the runtime would print it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ifx::report {

struct Frame {
  std::string function;
  std::string file;
  int32_t line = 0;
  uint64_t pc = 0;     // resume pc of the physical frame (runtime address)
  uint64_t entry = 0;  // entry of the physical function
  uint64_t sp = 0;
  int32_t frame_size = 0;
  bool inlined = false;
  bool shown = true;  // printed by the runtime's own traceback (runtime frames are hidden)
  uint32_t physical_index = 0;  // which physical frame this source frame belongs to
  std::string args;             // the runtime's rendering of the arguments (physical frames)
};

struct Instruction {
  uint64_t address = 0;  // runtime address
  std::string bytes;
  std::string text;
  std::string file;
  int32_t line = 0;
  bool current = false;  // holds the goroutine's pc
};

struct CreatedBy {
  std::string function;
  std::string file;
  int32_t line = 0;
  uint64_t pc = 0;
  uint64_t entry = 0;
  uint64_t parent_goid = 0;  // 0 when the runtime does not keep it (before Go 1.21)
  bool shown = true;
};

struct Goroutine {
  uint64_t goid = 0;
  std::string status;        // "waiting", "runnable", ...
  std::string wait_reason;   // "chan receive", empty when not waiting
  std::string header_state;  // what the runtime prints in brackets: wait reason or status
  std::optional<int64_t> wait_minutes;
  bool locked_to_thread = false;
  bool system = false;  // a runtime goroutine, hidden unless --system
  bool scan = false;
  std::optional<int> thread;  // tid of the thread running it
  uint64_t start_pc = 0;
  std::string start_function;
  std::optional<CreatedBy> created_by;
  std::vector<Frame> frames;  // innermost first; inlined calls expanded
  bool truncated = false;
  std::string error;                // why the stack could not be fully read
  std::vector<Instruction> disasm;  // with --disasm: around the innermost frame's pc
};

struct Goroutines {
  std::string go_version;
  int go_minor = 0;             // picks the runtime's elision rule in the go format
  bool include_system = false;  // --system: the go format prints runtime goroutines too
  std::vector<Goroutine> goroutines;
  std::vector<std::string> warnings;
};

}  // namespace ifx::report
