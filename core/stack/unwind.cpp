// Frame by frame: fp = sp + spdelta(pc) + 8, return address at fp - 8, caller sp = fp.
#include "core/stack/unwind.h"

#include <algorithm>

namespace ifx {

SpecialFuncs::SpecialFuncs(const GoBinary& bin) {
  for (const char* name : {"runtime.sigpanic", "runtime.asyncPreempt", "runtime.debugCallV2"}) {
    if (auto f = bin.pclntab().find_func_by_name(name)) injected.push_back(f->entry);
  }
  // FuncIDWrapper is the last funcID; releases inserted IDs before it: 21 through Go 1.22,
  // 22 in 1.23 (corostart), 23 from 1.24 (runCleanups). Measured on 1.19, 1.26 and 1.27.
  const GoVersion& v = bin.version();
  wrapper_id = !v.at_least(23) ? 21 : !v.at_least(24) ? 22 : 23;
}

bool SpecialFuncs::is_injected_call(const Func& f) const {
  return std::find(injected.begin(), injected.end(), f.entry) != injected.end();
}

namespace {

UnwoundStack unwind(GoRuntime& rt, const SpecialFuncs& special, PcCache& cache, const Goroutine& g,
                    uint64_t pc, uint64_t sp, bool trap, size_t max_frames) {
  UnwoundStack out;
  const Pclntab& tab = rt.binary().pclntab();
  uint64_t bias = rt.bias();
  bool after_injected = trap;
  for (size_t depth = 0;; ++depth) {
    if (depth >= max_frames) {
      out.truncated = true;
      return out;
    }
    const std::optional<PcCache::Step>* step = nullptr;
    try {
      step = &cache.step(pc - bias);
    } catch (const Error& e) {
      out.error = e.what();
      return out;
    }
    if (!*step) {
      out.error = fmt::format("pc {:#x} is not in Go code", pc);
      return out;
    }
    const Func* f = &(*step)->func;
    PhysicalFrame frame;
    frame.pc = pc;
    frame.sp = sp;
    frame.func = *f;
    // The resume pc of a parked or returning frame follows a CALL: symbolise the call itself.
    frame.sym_pc = (!after_injected && pc - bias > f->entry) ? pc - 1 : pc;
    int32_t delta = (*step)->sp_delta;
    frame.frame_size = delta;
    out.frames.push_back(frame);
    if (!out.error.empty()) return out;
    std::string_view name = tab.func_name(*f);
    if ((f->flag & kFuncFlagTopFrame) != 0 || name == "runtime.goexit") return out;
    if (delta < 0) {
      out.error = fmt::format("no SP delta for {} at {:#x}", name, pc);
      return out;
    }
    // cgocallback writes SP but keeps a frame to unwind through on both stacks (as the runtime
    // exempts it in its unwinder).
    if ((f->flag & kFuncFlagSPWrite) != 0 && depth > 0 && name != "runtime.cgocallback") {
      out.error = fmt::format("{} writes SP; cannot unwind past it", name);
      return out;
    }
    uint64_t ret_slot = sp + static_cast<uint64_t>(delta);
    auto ret = rt.memory().read_u64(RemoteAddr(ret_slot));
    if (!ret) {
      out.error = fmt::format("return address at {:#x} is unreadable: {}", ret_slot,
                              rt.memory().why_unreadable(RemoteAddr(ret_slot), 8));
      return out;
    }
    if (g.stack_hi != 0 && ret_slot + 8 > g.stack_hi) {
      out.error = fmt::format("frame of {} runs past the stack's top", name);
      return out;
    }
    after_injected = special.is_injected_call(*f);
    pc = *ret;
    sp = ret_slot + 8;
  }
}

}  // namespace

UnwoundStack unwind_goroutine(GoRuntime& rt, const SpecialFuncs& special, PcCache& cache,
                              const Goroutine& g, size_t max_frames) {
  bool syscall = g.syscall_sp != 0;
  return unwind(rt, special, cache, g, syscall ? g.syscall_pc : g.sched_pc,
                syscall ? g.syscall_sp : g.sched_sp, false, max_frames);
}

UnwoundStack unwind_from_registers(GoRuntime& rt, const SpecialFuncs& special, PcCache& cache,
                                   const Goroutine& g, uint64_t pc, uint64_t sp,
                                   size_t max_frames) {
  return unwind(rt, special, cache, g, pc, sp, true, max_frames);
}

}  // namespace ifx
