// Variables the executable's DWARF describes: package-level variables, and the arguments and
// locals of a function at a pc (location expressions and location lists, evaluated against the
// frame's canonical frame address). Not thread-safe: one per analysis.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/binary/dwarf.h"
#include "core/target/remote.h"

namespace ifx {

struct DwarfGlobal {
  std::string name;   // "main.cfg"
  uint64_t addr = 0;  // link-time address
  uint64_t type_die = 0;
};

// Where a variable's bytes are: in target memory at addr, or assembled from pieces (some in
// registers that a parked frame no longer has: then unavailable says so).
struct VarPiece {
  uint64_t size = 0;
  std::optional<uint64_t> addr;  // runtime address; nullopt: not in memory at this pc
  std::optional<unsigned> reg;   // DWARF register number (amd64) when it is in a register
};

struct FrameVariable {
  std::string name;
  bool is_arg = false;
  uint64_t type_die = 0;
  std::vector<VarPiece> pieces;  // one piece without size for a plain memory location
  std::string unavailable;       // why it cannot be read at this pc ("optimized away")
  // A variable of a function inlined at this pc (DW_TAG_inlined_subroutine): that function's
  // name ("main.helper") and how deep it is inlined (1: into the physical function, 2: into
  // that one, ...). "" and 0 for the physical function's own variables.
  std::string inlined_function;
  int inline_depth = 0;
};

class DwarfVars {
 public:
  explicit DwarfVars(const std::string& exe_path);

  struct Dwarf* handle() const {
    return dwarf_.handle();
  }
  const std::vector<DwarfGlobal>& globals() const { return globals_; }
  bool has_function(uint64_t pc) const;
  // Arguments first (in declaration order), then locals visible at link-time pc `pc`, then the
  // arguments and locals of the functions inlined at that pc, outermost first. `cfa` is the
  // runtime address of the frame's canonical frame address (the caller's sp).
  std::vector<FrameVariable> frame_variables(uint64_t pc, uint64_t cfa) const;

 private:
  void index();
  std::vector<FrameVariable> evaluate_at(uint64_t pc, uint64_t cfa) const;
  struct FuncRange {
    uint64_t low = 0;
    uint64_t high = 0;
    uint64_t die = 0;
  };
  DwarfFile dwarf_;
  std::vector<DwarfGlobal> globals_;
  std::vector<FuncRange> funcs_;                                            // sorted by low
  mutable std::unordered_map<uint64_t, std::vector<FrameVariable>> by_pc_;  // memo per pc
};

}  // namespace ifx
