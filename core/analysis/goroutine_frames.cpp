// Goroutines rebuilt as the runtime's traceback shows them: header state, visible frames,
// creation site. The visibility rules follow runtime/traceback.go (showfuncinfo).
#include "core/analysis/goroutine_frames.h"

#include <time.h>

#include "core/binary/disasm.h"
#include "core/runtime/machines.h"
#include "core/stack/frame_args.h"
#include "core/stack/unwind.h"

namespace ifx {
namespace {

bool is_exported_runtime(std::string_view name) {
  constexpr std::string_view kPrefix = "runtime.";
  return name.size() > kPrefix.size() && name.substr(0, kPrefix.size()) == kPrefix &&
         name[kPrefix.size()] >= 'A' && name[kPrefix.size()] <= 'Z';
}

// runtime.elideWrapperCalling: a wrapper is left out unless it called a panic.
bool elides_wrapper(bool wrapper, std::string_view callee) {
  return wrapper && callee != "runtime.gopanic" && callee != "runtime.sigpanic" &&
         callee != "runtime.panicwrap";
}

// runtime.showfuncinfo at the default GOTRACEBACK level.
bool shows_frame(std::string_view name, bool wrapper, bool first, std::string_view callee) {
  if (elides_wrapper(wrapper, callee)) return false;
  if (name == "runtime.runFinalizers" || name == "runtime.runCleanups") return true;
  if (name == "runtime.gopanic" && !first) return true;
  return name.find('.') != std::string_view::npos &&
         (name.substr(0, 8) != "runtime." || is_exported_runtime(name));
}

// runtime.isSystemGoroutine, with the finalizer goroutine counted as a user goroutine while it
// runs user code (the runtime reads fingStatus for that; its stack tells us the same).
bool is_system(std::string_view start, const std::vector<report::Frame>& frames) {
  if (start == "runtime.main" || start == "runtime.handleAsyncEvent" ||
      start == "runtime.corostart") {
    return false;
  }
  if (start == "runtime.runfinq" || start == "runtime.runFinalizers" ||
      start == "runtime.runCleanups") {
    for (const auto& f : frames) {
      if (f.function.substr(0, 8) != "runtime.") return false;
    }
    return true;
  }
  return start.substr(0, 8) == "runtime.";
}

// Threads by M, and for each M running a goroutine where it left it; the part of a system or
// signal stack in use is copied now (no goroutine's stack: read_goroutines did not copy it).
void read_threads(GoRuntime& rt, const GoroutineLimits& limits, GoroutineSnapshot& snap) {
  std::vector<RemoteRange> system_stacks;
  for (const Machine& m : read_machines(rt)) {
    if (m.procid) snap.tid_by_m[m.m.value()] = static_cast<int>(*m.procid);
    if (m.curg.is_null()) continue;
    ThreadOffStack off;
    off.vdso_sp = m.vdso_sp;
    off.vdso_pc = m.vdso_pc;
    auto bounds = [&rt](RemoteAddr g, uint64_t& lo, uint64_t& hi) {
      if (g.is_null()) return;
      lo = rt.read_field(g, Fld::kGStackLo).value_or(0);
      hi = rt.read_field(g, Fld::kGStackHi).value_or(0);
    };
    bounds(m.g0, off.g0_lo, off.g0_hi);
    bounds(m.gsignal, off.gsignal_lo, off.gsignal_hi);
    snap.off_stack[m.m.value()] = off;
    auto from = [&](uint64_t sp, uint64_t hi) {
      system_stacks.push_back({RemoteAddr(sp), std::min(hi - sp, limits.max_stack_bytes)});
    };
    for (const auto& t : rt.target().threads()) {
      if (!m.procid || t.tid != static_cast<int>(*m.procid) || !t.has_regs) continue;
      uint64_t sp = t.regs.rsp;
      if (sp >= off.g0_lo && sp < off.g0_hi) from(sp, off.g0_hi);
      // In a signal handler: what it interrupted may be on the system stack, anywhere in it.
      if (sp >= off.gsignal_lo && sp < off.gsignal_hi) {
        from(sp, off.gsignal_hi);
        if (off.g0_lo < off.g0_hi) from(off.g0_lo, off.g0_hi);
      }
    }
  }
  rt.memory().capture(system_stacks);
}

std::vector<report::Frame> symbolise(GoRuntime& rt, const SpecialFuncs& special, PcCache& cache,
                                     const UnwoundStack& stack, std::string& error) {
  std::vector<report::Frame> out;
  out.reserve(stack.frames.size() * 2);
  std::string_view callee;
  for (size_t i = 0; i < stack.frames.size(); ++i) {
    const PhysicalFrame& pf = stack.frames[i];
    const std::vector<SourceFrame>* sources = nullptr;
    try {
      sources = &cache.frames(pf.sym_pc - rt.bias());
    } catch (const Error& e) {
      error = e.what();
      return out;
    }
    for (const SourceFrame& sf : *sources) {
      report::Frame f;
      f.function = sf.function;
      f.file = sf.file;
      f.line = sf.line;
      f.pc = pf.pc;
      f.entry = pf.func.entry + rt.bias();
      f.sp = pf.sp;
      f.frame_size = pf.frame_size;
      f.inlined = sf.inlined;
      f.start_line = sf.start_line;
      f.physical_index = static_cast<uint32_t>(i);
      if (!sf.inlined) f.args = frame_args(rt, cache, pf);
      f.wrapper = special.is_wrapper(sf.func_id);
      f.shown = shows_frame(sf.function, f.wrapper, false, callee);
      f.elided_wrapper = elides_wrapper(f.wrapper, callee);
      callee = sf.function;
      out.push_back(std::move(f));
    }
  }
  // "first frame" means the first one printed: recompute gopanic's visibility with it.
  bool first = true;
  for (auto& f : out) {
    if (f.function == "runtime.gopanic") f.shown = !first;
    first = first && !f.shown;
  }
  return out;
}

std::optional<report::CreatedBy> created_by(GoRuntime& rt, const SpecialFuncs& special,
                                            const Goroutine& g) {
  if (g.gopc == 0) return std::nullopt;
  const Pclntab& tab = rt.binary().pclntab();
  uint64_t pc = g.gopc - rt.bias();
  auto f = tab.find_func(pc);
  if (!f) return std::nullopt;
  report::CreatedBy c;
  c.function = tab.func_name(*f);
  uint64_t trace_pc = pc > f->entry ? pc - 1 : pc;
  c.file = tab.file(*f, trace_pc);
  c.line = tab.line(*f, trace_pc);
  c.pc = g.gopc;
  c.entry = f->entry + rt.bias();
  c.parent_goid = g.parent_goid;
  bool wrapper = special.is_wrapper(f->func_id);
  c.shown = shows_frame(c.function, wrapper, false, "") && g.goid != 1;
  return c;
}

// The instructions around the innermost pc: where a parked goroutine resumes, or where a running
// one was stopped.
void add_disasm(GoRuntime& rt, size_t window, report::Goroutine& r) {
  const report::Frame& top = r.frames.front();
  uint64_t pc = top.pc - rt.bias();
  const Pclntab& tab = rt.binary().pclntab();
  auto f = tab.find_func(pc);
  if (!f) return;
  for (const Instruction& ins : disassemble_around(rt.binary(), pc, window, window)) {
    report::Instruction out{ins.address + rt.bias(), ins.bytes, ins.text, "", 0, ins.address == pc};
    out.file = tab.file(*f, ins.address);
    out.line = tab.line(*f, ins.address);
    // The padding after a function's last instruction has no line: it is not the function's.
    if (out.line < 0 && ins.address > pc) break;
    r.disasm.push_back(std::move(out));
  }
}

// A core without ifxray's clock note: the runtime's latest nanotime stamps bound "now" from
// below (the last network poll, which sysmon refreshes every 10 ms while it is awake; the end of
// the last GC, forced at least every 2 minutes; the GC start stamped on blocked goroutines).
std::optional<int64_t> estimate_now(GoRuntime& rt, const std::vector<Goroutine>& gs) {
  int64_t best = 0;
  if (auto sched = rt.global(Glob::kSched)) {
    if (auto v = rt.read_signed_field(*sched, Fld::kSchedLastPoll)) best = std::max(best, *v);
  }
  if (auto v = rt.read_global_field(Glob::kMemstats, Fld::kMstatsLastGCNanotime)) {
    best = std::max(best, static_cast<int64_t>(*v));
  }
  for (const Goroutine& g : gs) {
    if (g.unreadable.empty() && g.status != kGdead) best = std::max(best, g.wait_since);
  }
  if (best <= 0) return std::nullopt;
  return best;
}

// Goroutines come and go and stacks grow between the estimate and the stop: some slack.
// The estimate was read racily: never fault in more than a sane bound for it.
uint64_t with_slack(uint64_t bytes) {
  constexpr uint64_t kMaxReserve = uint64_t{4} << 30;
  return bytes == 0 ? 0 : std::min(bytes + bytes / 8 + (1 << 20), kMaxReserve);
}

}  // namespace

uint64_t estimate_snapshot_bytes(GoRuntime& rt, const FramesOptions& opts) {
  return with_slack(estimate_goroutine_bytes(rt, opts.limits));
}

uint64_t estimate_snapshot_bytes(const StackPrecopy& precopy) {
  return with_slack(precopy.stop_bytes());
}

GoroutineSnapshot snapshot_goroutines(GoRuntime& rt, const FramesOptions& opts,
                                      const StackPrecopy* precopy,
                                      std::vector<DeferredStack>* deferred) {
  GoroutineSnapshot snap;
  snap.goroutines = read_goroutines(rt, opts.limits, snap.problems, precopy, deferred);
  // Labels are shared by the goroutines a labelled one starts: read each set once, while the
  // process is stopped (they live in the heap, not in what read_goroutines copied).
  for (const Goroutine& g : snap.goroutines) {
    if (g.labels == 0 || !g.unreadable.empty() || g.status == kGdead) continue;
    if (snap.labels.count(g.labels) == 0) {
      snap.labels.emplace(g.labels, read_goroutine_labels(rt, RemoteAddr(g.labels)));
    }
  }
  snap.wait_reasons = read_wait_reasons(rt);
  read_threads(rt, opts.limits, snap);
  snap.now_ns = rt.target().monotonic_ns();
  if (!snap.now_ns) {
    snap.now_ns = estimate_now(rt, snap.goroutines);
    snap.now_estimated = snap.now_ns.has_value();
  }
  return snap;
}

report::Goroutines build_goroutines(GoRuntime& rt, const GoroutineSnapshot& snap,
                                    const FramesOptions& opts) {
  report::Goroutines out;
  out.go_version = rt.binary().build_info().go_version;
  out.go_minor = rt.binary().version().minor;
  out.warnings = snap.problems;
  if (snap.wait_reasons.empty())
    out.warnings.push_back("the runtime's wait reason strings are unreadable");
  SpecialFuncs special(rt.binary());
  PcCache cache(rt.binary());
  out.goroutines.reserve(snap.goroutines.size());
  for (const Goroutine& g : snap.goroutines) {
    if (g.unreadable.empty() && (g.status == kGdead || g.status == kGdeadextra)) continue;
    report::Goroutine r;
    r.goid = g.goid;
    r.error = g.unreadable;
    r.status = status_string(g.status);
    r.scan = g.scan;
    if ((g.status == kGwaiting || g.status == kGleaked) && g.wait_reason != 0) {
      r.wait_reason = g.wait_reason < snap.wait_reasons.size()
                          ? snap.wait_reasons[g.wait_reason]
                          : fmt::format("wait reason {}", g.wait_reason);
    }
    r.header_state = r.wait_reason.empty() ? r.status : r.wait_reason;
    if ((g.status == kGwaiting || g.status == kGsyscall) && g.wait_since != 0 && snap.now_ns) {
      r.wait_ns = std::max<int64_t>(0, *snap.now_ns - g.wait_since);
      r.wait_minutes = *r.wait_ns / 60'000'000'000;
      r.wait_estimated = snap.now_estimated;
    }
    if (auto it = snap.labels.find(g.labels); g.labels != 0 && it != snap.labels.end()) {
      r.labels = it->second.labels;
      r.labels_error = it->second.error;
    }
    r.locked_to_thread = g.locked_m != 0;
    if (auto it = snap.tid_by_m.find(g.m); g.m != 0 && it != snap.tid_by_m.end()) {
      r.thread = it->second;
    }
    if (!g.unreadable.empty()) {
      out.goroutines.push_back(std::move(r));
      continue;
    }
    r.start_pc = g.startpc;
    if (auto f = rt.binary().pclntab().find_func(g.startpc - rt.bias())) {
      r.start_function = rt.binary().pclntab().func_name(*f);
    }
    r.created_by = created_by(rt, special, g);
    if (g.status == kGrunning) {
      // Its saved state is stale; the thread it runs on holds the live registers.
      const Thread* thread = nullptr;
      for (const auto& t : rt.target().threads()) {
        if (r.thread && t.tid == *r.thread && t.has_regs) thread = &t;
      }
      bool in_go = thread != nullptr && thread->regs.rsp >= g.stack_lo &&
                   thread->regs.rsp < g.stack_hi &&
                   rt.binary().pclntab().find_func(thread->regs.rip - rt.bias()).has_value();
      std::optional<UnwoundStack> stack;
      if (in_go) {
        stack = unwind_from_registers(rt, special, cache, g, thread->regs.rip, thread->regs.rsp,
                                      opts.max_frames);
      } else if (auto off = snap.off_stack.find(g.m);
                 thread != nullptr && off != snap.off_stack.end()) {
        stack = unwind_off_stack(rt, special, cache, g, thread->regs.rip, thread->regs.rsp,
                                 off->second, opts.max_frames);
      }
      if (stack) {
        r.running_in = stack->running_in;
        r.truncated = stack->truncated;
        r.error = stack->error;
        r.frames = symbolise(rt, special, cache, *stack, r.error);
      } else {
        r.error = thread == nullptr ? "running, and its thread's registers are unavailable"
                                    : "running outside its Go stack (in C code)";
      }
    } else {
      UnwoundStack stack = unwind_goroutine(rt, special, cache, g, opts.max_frames);
      r.truncated = stack.truncated;
      r.error = stack.error;
      r.frames = symbolise(rt, special, cache, stack, r.error);
    }
    r.system = is_system(r.start_function, r.frames);
    if (opts.disasm_window > 0 && !r.frames.empty()) add_disasm(rt, opts.disasm_window, r);
    out.goroutines.push_back(std::move(r));
  }
  return out;
}

}  // namespace ifx
