// Variables of a target: package-level variables and the arguments and locals of goroutine
// frames, found through DWARF and read with the value reader. One per analysis; not
// thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/report/goroutines.h"
#include "core/runtime/go_runtime.h"
#include "core/types/runtime_type.h"
#include "core/values/dwarf_vars.h"
#include "core/values/go_type.h"
#include "core/values/value_reader.h"

namespace ifx {

// A variable resolved to a type and a place in target memory.
struct ResolvedVariable {
  std::string name;
  bool arg = false;
  const GoType* type = nullptr;
  std::optional<RemoteAddr> addr;
  std::string unavailable;  // why there is no address
  // A value the compiler split across stack slots is assembled here, at a synthetic address;
  // pointers inside it still lead into target memory. Null: addr is in target memory.
  std::shared_ptr<Memory> assembled;
  // A variable of a function inlined at the frame's pc: that function and its inlining depth
  // (see FrameVariable); "" and 0 for the physical function's own.
  std::string inlined_function;
  int inline_depth = 0;
};

// Places v (its type already set) from the DWARF pieces of its location: in target memory in
// place, or assembled from stack slots and registers. `regs`: the registers of the thread
// running the frame (a running goroutine's innermost frame), else null: a piece in a register
// then makes v unavailable ("in a register, unavailable").
void resolve_pieces(Memory& mem, std::vector<VarPiece> pieces, ResolvedVariable& v,
                    const user_regs_struct* regs);

// The logical frame (an inlined one, or the physical frame itself) that holds v, for the
// physical frame at index `physical` of `frames` (inlined frames precede it, innermost first).
size_t frame_of_variable(const std::vector<report::Frame>& frames, size_t physical,
                         const ResolvedVariable& v);

// Target memory with one synthetic range served from local bytes.
class AssembledMemory : public Memory {
 public:
  static constexpr uint64_t kBase = 0xffffff0000000000;
  AssembledMemory(Memory& target, std::vector<uint8_t> bytes)
      : target_(target), bytes_(std::move(bytes)) {}
  size_t read(RemoteAddr addr, std::span<uint8_t> out) override;
  std::string why_unreadable(RemoteAddr addr, uint64_t size) override {
    return target_.why_unreadable(addr, size);
  }

 private:
  Memory& target_;
  std::vector<uint8_t> bytes_;
};

class VariableSession {
 public:
  VariableSession(GoRuntime& rt, ValueLimits limits);

  // Why variables cannot be read at all ("" when DWARF is there).
  const std::string& no_dwarf() const { return no_dwarf_; }
  TypeReader& types() { return types_; }
  TypeSystem& type_system() { return *system_; }
  ValueReader& values() { return *values_; }
  // The executable's DWARF variables; null without DWARF.
  const DwarfVars* dwarf_vars() const { return dwarf_.get(); }

  std::vector<ResolvedVariable> globals();
  // Arguments and locals of one physical frame; `trapped`: the innermost frame of a running
  // goroutine, whose pc is not a return address; `regs`: the registers of the thread running
  // it (variables in registers are read from them), null for a parked frame.
  std::vector<ResolvedVariable> frame_variables(const report::Frame& f, bool trapped,
                                                const user_regs_struct* regs = nullptr);
  // The registers of the thread running g, when g is running, its thread's registers are known
  // (a live stop, or NT_PRSTATUS in a core) and `innermost` is the frame they describe.
  const user_regs_struct* thread_registers(const report::Goroutine& g,
                                           const report::Frame& innermost);

 private:
  GoRuntime& rt_;
  TypeReader types_;
  std::unique_ptr<DwarfVars> dwarf_;
  std::unique_ptr<TypeSystem> system_;
  std::unique_ptr<ValueReader> values_;
  std::string no_dwarf_;
};

// `frames --locals`: fills each physical frame's locals.
void add_frame_locals(VariableSession& vars, report::Goroutines& gs);

}  // namespace ifx
