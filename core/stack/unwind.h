// Unwinds a goroutine's stack with pclntab's SP-delta tables (no frame pointers, no CFI), the
// way the runtime's own unwinder does, reading the stack from the target's (snapshot) memory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/runtime/go_runtime.h"
#include "core/runtime/goroutines.h"
#include "core/stack/pc_cache.h"

namespace ifx {

// One physical frame; pcs are runtime addresses.
struct PhysicalFrame {
  uint64_t pc = 0;      // resume pc: a return address except for the innermost/trapped frame
  uint64_t sym_pc = 0;  // the pc to symbolise (pc - 1 after a call)
  uint64_t sp = 0;
  int32_t frame_size = 0;  // SP delta at pc
  Func func;
};

struct UnwoundStack {
  std::vector<PhysicalFrame> frames;  // innermost first
  std::string error;                  // why unwinding stopped early, if it did
  bool truncated = false;             // stopped at the frame bound
  // unwind_off_stack: where the thread was, "vdso", "system stack" or "signal handler"
  std::string running_in;
};

// Special functions, recognised by name as Delve does (funcID numbering moves between versions).
struct SpecialFuncs {
  explicit SpecialFuncs(const GoBinary& bin);
  bool is_injected_call(const Func& f) const;  // sigpanic, asyncPreempt, debugCallV2
  bool is_wrapper(uint8_t func_id) const { return func_id == wrapper_id; }
  uint8_t wrapper_id = 0;
  std::vector<uint64_t> injected;  // entries
};

UnwoundStack unwind_goroutine(GoRuntime& rt, const SpecialFuncs& special, PcCache& cache,
                              const Goroutine& g, size_t max_frames);
// From a thread's registers (a running goroutine): the innermost pc is where the thread
// stopped, not a return address.
UnwoundStack unwind_from_registers(GoRuntime& rt, const SpecialFuncs& special, PcCache& cache,
                                   const Goroutine& g, uint64_t pc, uint64_t sp, size_t max_frames);

// Where the runtime leaves a running goroutine whose thread is off the goroutine's stack.
struct ThreadOffStack {
  uint64_t vdso_sp = 0, vdso_pc = 0;        // m.vdsoSP/PC, nonzero during a vDSO call
  uint64_t g0_lo = 0, g0_hi = 0;            // the thread's system stack
  uint64_t gsignal_lo = 0, gsignal_hi = 0;  // the stack its signal handlers run on
};

// A running goroutine whose thread (stopped at pc, sp) is not on the goroutine's stack, unwound
// the way the runtime's profiler does: in a vDSO call, from m.vdsoPC/SP (the call's return
// address and sp on the goroutine's stack); on the system stack, its frames from the registers
// up to runtime.systemstack, then on across to the goroutine's stack (from runtime.morestack:
// from g.sched, which it saved); in a signal handler, its frames up to runtime.sigtramp, then
// from the registers the kernel saved for the handler, as above. Empty when the thread is
// elsewhere (C code).
std::optional<UnwoundStack> unwind_off_stack(GoRuntime& rt, const SpecialFuncs& special,
                                             PcCache& cache, const Goroutine& g, uint64_t pc,
                                             uint64_t sp, const ThreadOffStack& off,
                                             size_t max_frames);

}  // namespace ifx
