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
  std::string_view callee;  // the function of the frame below, once there is one
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
    // exempts it in its unwinder). systemstack writes SP only after gosave_systemstack_switch
    // returns: while that runs (a thread stopped in it), the frame is still an ordinary one.
    if ((f->flag & kFuncFlagSPWrite) != 0 && depth > 0 && name != "runtime.cgocallback" &&
        !(name == "runtime.systemstack" && callee == "gosave_systemstack_switch")) {
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
    callee = name;
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

namespace {

// Where the kernel's rt_sigframe keeps the interrupted rsp and rip: the handler is entered with
// sp at its pretcode, then come uc_flags, uc_link, uc_stack (8 + 8 + 24 bytes) and the
// sigcontext: r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip.
constexpr uint64_t kSigframeRsp = 8 + 40 + 15 * 8;
constexpr uint64_t kSigframeRip = kSigframeRsp + 8;
constexpr int kMaxNestedSignals = 4;

void append(UnwoundStack& out, UnwoundStack rest) {
  out.error = std::move(rest.error);
  out.truncated = rest.truncated;
  out.frames.insert(out.frames.end(), rest.frames.begin(), rest.frames.end());
}

class OffStackUnwinder {
 public:
  OffStackUnwinder(GoRuntime& rt, const SpecialFuncs& special, PcCache& cache, const Goroutine& g,
                   const ThreadOffStack& off, size_t max_frames)
      : rt_(rt), special_(special), cache_(cache), g_(g), off_(off), max_(max_frames) {}

  // signals: how many signal frames the unwind has gone through (a handler may be interrupted
  // by another signal: the runtime's crash handler raises the signal again from inside one).
  std::optional<UnwoundStack> from(uint64_t pc, uint64_t sp, int signals) {
    if (on_goroutine_stack(sp)) {
      UnwoundStack out = unwind(rt_, special_, cache_, g_, pc, sp, true, max_);
      return out;
    }
    if (signals < kMaxNestedSignals && sp >= off_.gsignal_lo && sp < off_.gsignal_hi) {
      return from_signal(pc, sp, signals + 1);
    }
    if (sp >= off_.g0_lo && sp < off_.g0_hi) return from_system_stack(pc, sp);
    return std::nullopt;
  }

 private:
  bool on_goroutine_stack(uint64_t a) const { return a >= g_.stack_lo && a < g_.stack_hi; }
  std::string_view last_name(const UnwoundStack& u) const {
    return u.frames.empty() ? std::string_view()
                            : rt_.binary().pclntab().func_name(u.frames.back().func);
  }
  // Unwinds the stack [lo, hi) from pc and sp; when the runtime left m.vdsoPC/SP on this stack
  // above sp (a vDSO call made on the signal or system stack is under way: the thread is in
  // the vDSO or in the asm that calls it, which realigns SP), from there instead, as the
  // runtime's profiler does.
  UnwoundStack on(uint64_t lo, uint64_t hi, uint64_t pc, uint64_t sp, size_t max_frames) {
    Goroutine stack;
    stack.stack_lo = lo;
    stack.stack_hi = hi;
    bool in_go = rt_.binary().pclntab().find_func(pc - rt_.bias()).has_value();
    bool in_vdso_call = off_.vdso_pc != 0 && off_.vdso_sp >= lo && off_.vdso_sp < hi &&
                        (!in_go || sp <= off_.vdso_sp);
    if (in_vdso_call) {
      return unwind(rt_, special_, cache_, stack, off_.vdso_pc, off_.vdso_sp, false, max_frames);
    }
    return unwind(rt_, special_, cache_, stack, pc, sp, true, max_frames);
  }

  // The handler's frames up to runtime.sigtramp, then what it interrupted.
  std::optional<UnwoundStack> from_signal(uint64_t pc, uint64_t sp, int signals) {
    UnwoundStack out = on(off_.gsignal_lo, off_.gsignal_hi, pc, sp, max_);
    out.running_in = "signal handler";
    if (!out.error.empty() || out.truncated) return out;
    // The kernel entered the handler at sigtramp (cgoSigtramp first when it is installed, which
    // pushes nothing before it jumps there) with sp at the signal frame; the restorer runs
    // after the handler returned, with the frame's return address popped.
    std::string_view last = last_name(out);
    const PhysicalFrame& top = out.frames.back();
    uint64_t entry_sp = 0;
    if ((last == "runtime.sigtramp" || last == "runtime.cgoSigtramp") && top.frame_size >= 0) {
      entry_sp = top.sp + static_cast<uint64_t>(top.frame_size);
    } else if ((last == "runtime.sigreturn__sigaction" || last == "runtime.sigreturn") &&
               out.frames.size() == 1) {
      entry_sp = top.sp - 8;
    } else {
      out.error = fmt::format(
          "the signal handler's frames end in {}, not at the kernel's signal "
          "frame: what it interrupted is unknown",
          last);
      return out;
    }
    if (out.frames.size() >= max_) return out;
    auto rsp = rt_.memory().read_u64(RemoteAddr(entry_sp + kSigframeRsp));
    auto rip = rt_.memory().read_u64(RemoteAddr(entry_sp + kSigframeRip));
    if (!rsp || !rip) {
      out.error = fmt::format("the signal frame at {:#x} is unreadable: {}", entry_sp,
                              rt_.memory().why_unreadable(RemoteAddr(entry_sp), kSigframeRip + 8));
      return out;
    }
    auto rest = from(*rip, *rsp, signals);
    if (!rest) {
      out.error = fmt::format("the signal interrupted pc {:#x} sp {:#x}, on no stack of its thread",
                              *rip, *rsp);
      return out;
    }
    bool rip_in_go = rt_.binary().pclntab().find_func(*rip - rt_.bias()).has_value();
    if (!rip_in_go && rest->frames.empty() && on_vdso_call_of_handler(out)) {
      // The goroutine was in a vDSO call and so is the handler: the handler's call saved the
      // goroutine's m.vdsoPC/SP in its own frame and set its own, so the runtime no longer
      // says where the goroutine's Go frames are.
      out.error = fmt::format(
          "the signal interrupted a vDSO call (pc {:#x}) and the handler is in one too: the "
          "runtime's record of where the goroutine called it (m.vdsoPC/SP) is the handler's now",
          *rip);
      return out;
    }
    append(out, std::move(*rest));
    return out;
  }

  // Whether the handler's frames start at a vDSO call (from m.vdsoPC/SP on the signal stack).
  bool on_vdso_call_of_handler(const UnwoundStack& handler) const {
    return off_.vdso_sp >= off_.gsignal_lo && off_.vdso_sp < off_.gsignal_hi &&
           !handler.frames.empty() && handler.frames.front().sp == off_.vdso_sp;
  }

  // The thread's frames on its system stack; across to the goroutine where the runtime's own
  // unwinder goes: morestack saved the goroutine's pc and sp in g.sched and never returns (the
  // goroutine resumes there); systemstack saved its caller's sp there, and its frame goes on
  // across to the goroutine's stack from it.
  std::optional<UnwoundStack> from_system_stack(uint64_t pc, uint64_t sp) {
    // The thread may be in systemstack or morestack itself, past the stack switch: both write
    // SP, so their frame is not unwound through like any other.
    UnwoundStack out = on(off_.g0_lo, off_.g0_hi, pc, sp, 1);
    std::string_view last = last_name(out);
    if (last != "runtime.systemstack" && last != "runtime.morestack") {
      out = on(off_.g0_lo, off_.g0_hi, pc, sp, max_);
      last = last_name(out);
    }
    out.running_in = "system stack";
    if (!on_goroutine_stack(g_.sched_sp)) {
      if (out.error.empty())
        out.error = "on the system stack; the goroutine's saved sp is not on its stack";
      return out;
    }
    if (last != "runtime.systemstack" && last != "runtime.morestack") {
      // Not called from the goroutine: the scheduler on its way into it (execute, before gogo)
      // or out of it (mcall). Those frames are not the goroutine's; it resumes where g.sched
      // says, as the runtime's own traceback of it would start.
      UnwoundStack resume =
          unwind(rt_, special_, cache_, g_, g_.sched_pc, g_.sched_sp, false, max_);
      resume.running_in = "system stack";
      return resume;
    }
    if (out.frames.size() >= max_) return out;
    size_t left = max_ - out.frames.size();
    if (last == "runtime.morestack") {
      out.frames.pop_back();
      append(out, unwind(rt_, special_, cache_, g_, g_.sched_pc, g_.sched_sp, false, left + 1));
    } else if (last == "runtime.systemstack" && out.frames.back().frame_size >= 0) {
      uint64_t ret_slot = g_.sched_sp + static_cast<uint64_t>(out.frames.back().frame_size);
      auto ret = rt_.memory().read_u64(RemoteAddr(ret_slot));
      if (!ret) {
        out.error = fmt::format("systemstack's return address at {:#x} is unreadable: {}", ret_slot,
                                rt_.memory().why_unreadable(RemoteAddr(ret_slot), 8));
        return out;
      }
      append(out, unwind(rt_, special_, cache_, g_, *ret, ret_slot + 8, false, left));
    }
    return out;
  }

  GoRuntime& rt_;
  const SpecialFuncs& special_;
  PcCache& cache_;
  const Goroutine& g_;
  const ThreadOffStack& off_;
  size_t max_;
};

}  // namespace

std::optional<UnwoundStack> unwind_off_stack(GoRuntime& rt, const SpecialFuncs& special,
                                             PcCache& cache, const Goroutine& g, uint64_t pc,
                                             uint64_t sp, const ThreadOffStack& off,
                                             size_t max_frames) {
  if (off.vdso_sp != 0 && off.vdso_pc != 0 && off.vdso_sp >= g.stack_lo &&
      off.vdso_sp < g.stack_hi) {
    UnwoundStack out = unwind(rt, special, cache, g, off.vdso_pc, off.vdso_sp, false, max_frames);
    out.running_in = "vdso";
    return out;
  }
  if (sp >= g.stack_lo && sp < g.stack_hi) return std::nullopt;  // on its stack: not off it
  return OffStackUnwinder(rt, special, cache, g, off, max_frames).from(pc, sp, 0);
}

}  // namespace ifx
