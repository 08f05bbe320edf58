// crosscall2's frame on amd64 (runtime/cgo/asm_amd64.s, abi_amd64.h, SysV; Go 1.19 to 1.27):
// 0x18 bytes of cgocallback's arguments, then BX R12 R13 R14 R15 BP as C left them (48 bytes),
// then the return address into C; since Go 1.21 or so the assembler also pushes BP on entry (a
// frame of 0x50), and the BP of the save area is then crosscall2's own: C's is the pushed one.
// Those registers are C's callee-saved ones: libunwind starts from them.
#include "core/stack/cgo_callback.h"

#include <fmt/format.h>

namespace ifx {
namespace {

constexpr uint64_t kArgs = 0x18;                    // cgocallback's arguments
constexpr int32_t kSaveFrame = kArgs + 48;          // arguments and six saved registers
constexpr int32_t kPushedBPFrame = kSaveFrame + 8;  // and BP pushed on entry

std::optional<uint64_t> word(Memory& memory, uint64_t addr) {
  return memory.read_u64(RemoteAddr(addr));
}

// Crosscall2's frame at (pc, sp), then the C frames of its caller.
NativeStack unwind_one(Memory& memory, const Pclntab& tab, uint64_t bias, NativeModules& modules,
                       NativeUnwinder& unwinder, uint64_t pc, uint64_t sp, size_t max_frames) {
  NativeStack out;
  auto f = pc >= bias ? tab.find_func(pc - bias) : std::nullopt;
  if (!f || tab.func_name(*f) != "crosscall2") {
    out.error = fmt::format("the C caller of runtime.cgocallback is not crosscall2 (pc {:#x})", pc);
    return out;
  }
  NativeFrame frame;
  frame.pc = pc;
  frame.sp = sp;
  frame.functions.emplace_back(tab.func_name(*f));
  if (NativeModule* mod = modules.find(pc)) frame.module = mod->path();
  frame.offset = pc - bias - f->entry;
  frame.has_offset = true;
  out.frames.push_back(std::move(frame));
  int32_t delta = tab.sp_delta(*f, pc - bias);
  if (delta != kSaveFrame && delta != kPushedBPFrame) {
    out.error =
        fmt::format("crosscall2 has a frame of {} bytes at {:#x}, not one of the {} or {} known",
                    delta, pc, kSaveFrame, kPushedBPFrame);
    return out;
  }
  user_regs_struct regs{};
  decltype(&regs.rbx) saved[] = {&regs.rbx, &regs.r12, &regs.r13, &regs.r14, &regs.r15, &regs.rbp};
  for (size_t i = 0; i < std::size(saved); ++i) {
    auto v = word(memory, sp + kArgs + 8 * i);
    if (!v) {
      out.error = fmt::format("crosscall2's saved registers at {:#x} are unreadable: {}",
                              sp + kArgs, memory.why_unreadable(RemoteAddr(sp + kArgs), 48));
      return out;
    }
    *saved[i] = *v;
  }
  if (delta == kPushedBPFrame) {
    auto bp = word(memory, sp + static_cast<uint64_t>(delta) - 8);
    if (!bp) {
      out.error =
          fmt::format("crosscall2's pushed frame pointer at {:#x} is unreadable", sp + delta - 8);
      return out;
    }
    regs.rbp = *bp;
  }
  uint64_t ret_slot = sp + static_cast<uint64_t>(delta);
  auto ret = word(memory, ret_slot);
  if (!ret) {
    out.error = fmt::format("crosscall2's return address at {:#x} is unreadable: {}", ret_slot,
                            memory.why_unreadable(RemoteAddr(ret_slot), 8));
    return out;
  }
  regs.rip = *ret;
  regs.rsp = ret_slot + 8;
  if (max_frames <= 1) {
    out.truncated = true;
    return out;
  }
  NativeStack c = unwinder.unwind(regs, max_frames - 1, /*first_is_return=*/true);
  for (auto& fr : c.frames) out.frames.push_back(std::move(fr));
  out.reached_go = std::move(c.reached_go);
  out.error = std::move(c.error);
  out.truncated = c.truncated;
  return out;
}

}  // namespace

std::vector<NativeStack> unwind_cgo_callbacks(Memory& memory, const Pclntab& tab, uint64_t bias,
                                              NativeModules& modules, NativeUnwinder& unwinder,
                                              uint64_t g0_sp,
                                              const std::vector<int32_t>& frame_sizes,
                                              size_t max_frames) {
  std::vector<NativeStack> out;
  uint64_t sp = g0_sp;
  for (int32_t size : frame_sizes) {
    NativeStack s;
    auto ret = sp != 0 && size >= 0 ? word(memory, sp + static_cast<uint64_t>(size)) : std::nullopt;
    auto outer = sp != 0 ? word(memory, sp) : std::nullopt;  // the g0 SP cgocallback replaced
    if (!ret) {
      s.error = sp == 0 ? std::string("the thread's system stack pointer (g0.sched.sp) is unknown")
                        : fmt::format(
                              "runtime.cgocallback's return address at {:#x} is "
                              "unreadable: {}",
                              sp + static_cast<uint64_t>(size),
                              memory.why_unreadable(RemoteAddr(sp + size), 8));
    } else {
      s = unwind_one(memory, tab, bias, modules, unwinder, *ret,
                     sp + static_cast<uint64_t>(size) + 8, max_frames);
    }
    bool stop = !s.error.empty() || !outer || *outer <= sp;
    out.push_back(std::move(s));
    if (stop) break;
    sp = *outer;
  }
  return out;
}

}  // namespace ifx
