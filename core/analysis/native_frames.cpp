// Native frames for `frames --native`: which threads run C code, their libunwind stacks, and
// which goroutine (if any) each belongs to.
#include "core/analysis/native_frames.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/stack/cgo_callback.h"
#include "core/stack/native_unwind.h"
#include "core/target/core_memory.h"
#include "core/target/core_target.h"

namespace ifx {
namespace {

constexpr uint64_t kRedZone = 128;  // the amd64 ABI's red zone below sp
constexpr uint64_t kHeaderPage = 4096;

bool in_go(GoRuntime& rt, uint64_t pc) {
  return pc >= rt.bias() && rt.binary().pclntab().find_func(pc - rt.bias()).has_value();
}

const Mapping* mapping_at(const std::vector<Mapping>& maps, uint64_t addr) {
  for (const auto& m : maps) {
    if (addr >= m.start.value() && addr < m.end.value()) return &m;
  }
  return nullptr;
}

// The system stack pointer (m.g0.sched.sp) of the thread a goroutine is on or locked to: while
// the goroutine is in a Go callback from C, the C frames that called it lie above it. A callback
// locks its goroutine to the thread (cgocallbackg), so only locked goroutines are asked.
std::optional<uint64_t> callback_g0_sp(GoRuntime& rt, const Goroutine& g) {
  uint64_t m = g.m != 0 ? g.m : g.locked_m;
  if (g.locked_m == 0 || m == 0) return std::nullopt;
  auto g0 = rt.read_field(RemoteAddr(m), Fld::kMG0);
  if (!g0 || *g0 == 0) return std::nullopt;
  auto sp = rt.read_field(RemoteAddr(*g0), Fld::kGSchedSp);
  if (!sp || *sp == 0) return std::nullopt;
  return sp;
}

report::NativeStack to_report(const NativeStack& s) {
  report::NativeStack out;
  for (const auto& f : s.frames) {
    size_t n = std::max<size_t>(f.functions.size(), 1);
    for (size_t i = 0; i < n; ++i) {
      report::NativeFrame r;
      r.function = f.functions.empty() ? std::string() : f.functions[i];
      r.inlined = i + 1 < n;
      r.module = f.module;
      r.pc = f.pc;
      r.sp = f.sp;
      r.offset = f.offset;
      r.has_offset = f.has_offset;
      out.frames.push_back(std::move(r));
    }
  }
  out.reached_go = s.reached_go;
  out.error = s.error;
  out.truncated = s.truncated;
  return out;
}

}  // namespace

void capture_native_memory(GoRuntime& rt, const GoroutineSnapshot& snap,
                           const NativeOptions& opts) {
  Target& t = rt.target();
  if (!t.is_live()) return;
  std::vector<RemoteRange> ranges;
  std::set<uint64_t> system_sps;
  for (const auto& g : snap.goroutines) {
    auto sp = callback_g0_sp(rt, g);  // read while stopped: kept in the snapshot
    if (!sp || !system_sps.insert(*sp).second) continue;
    const Mapping* m = mapping_at(t.mappings(), *sp);
    if (m == nullptr) continue;
    ranges.push_back({RemoteAddr(*sp), std::min<uint64_t>(m->end.value() - *sp, opts.stack_bytes)});
  }
  for (const auto& th : t.threads()) {
    if (!th.has_regs || in_go(rt, th.regs.rip)) continue;
    const Mapping* m = mapping_at(t.mappings(), th.regs.rsp);
    if (m == nullptr) continue;
    uint64_t rsp = th.regs.rsp;
    uint64_t lo = std::max<uint64_t>(m->start.value(), rsp - std::min<uint64_t>(rsp, kRedZone));
    uint64_t hi = m->end.value() - th.regs.rsp > opts.stack_bytes ? th.regs.rsp + opts.stack_bytes
                                                                  : m->end.value();
    ranges.push_back({RemoteAddr(lo), hi - lo});
  }
  for (const auto& m : t.mappings()) {
    if (m.offset == 0 && !m.path.empty() && m.path.front() == '/') {
      ranges.push_back({m.start, std::min<uint64_t>(kHeaderPage, m.end - m.start)});
    }
  }
  t.memory().capture(ranges);
}

void add_native_frames(GoRuntime& rt, const GoroutineSnapshot& snap, const NativeOptions& opts,
                       report::Goroutines& report) {
  report.native = true;
  Target& t = rt.target();
  std::string exe_in_maps = t.exe_path();
  auto* core = dynamic_cast<CoreTarget*>(&t);
  if (core != nullptr && !core->core_exe_path().empty()) exe_in_maps = core->core_exe_path();
  auto* core_memory = dynamic_cast<CoreMemory*>(&t.memory());
  NativeModules modules(t.mappings(), exe_in_maps, t.exe_path(),
                        [&](uint64_t addr, std::span<uint8_t> out) -> size_t {
                          if (core_memory != nullptr)
                            return core_memory->read_core_only(RemoteAddr(addr), out);
                          return t.memory().read(RemoteAddr(addr), out);
                        });
  for (const auto& p : modules.problems()) report.warnings.push_back("--native: " + p);
  const Pclntab& tab = rt.binary().pclntab();
  NativeUnwinder unwinder(t.memory(), modules, [&](uint64_t pc) -> std::string {
    if (pc < rt.bias()) return {};
    auto f = tab.find_func(pc - rt.bias());
    return f ? std::string(tab.func_name(*f)) : std::string();
  });
  std::map<uint64_t, const Goroutine*> by_goid;
  for (const auto& g : snap.goroutines) by_goid[g.goid] = &g;
  for (auto& rg : report.goroutines) {
    std::vector<int32_t> sizes;
    std::vector<uint32_t> at;
    for (uint32_t i = 0; i < rg.frames.size(); ++i) {
      const auto& f = rg.frames[i];
      if (!f.inlined && f.function == "runtime.cgocallback") {
        sizes.push_back(f.frame_size);
        at.push_back(i);
      }
    }
    if (sizes.empty()) continue;
    auto it = by_goid.find(rg.goid);
    auto sp = it != by_goid.end() ? callback_g0_sp(rt, *it->second) : std::nullopt;
    std::vector<NativeStack> stacks = unwind_cgo_callbacks(
        t.memory(), tab, rt.bias(), modules, unwinder, sp.value_or(0), sizes, opts.max_frames);
    for (size_t k = 0; k < stacks.size(); ++k) {
      rg.callback_native.push_back({at[k], to_report(stacks[k])});
    }
  }
  std::set<int> runtime_tids;
  for (const auto& [m, tid] : snap.tid_by_m) runtime_tids.insert(tid);
  for (const auto& th : t.threads()) {
    if (!th.has_regs || in_go(rt, th.regs.rip)) continue;
    NativeStack stack = unwinder.unwind(th.regs, opts.max_frames);
    report::Goroutine* owner = nullptr;
    for (auto& g : report.goroutines) {
      if (g.thread && *g.thread == th.tid && (g.status == "syscall" || g.status == "running")) {
        owner = &g;
      }
    }
    if (owner != nullptr) {
      owner->native = to_report(stack);
      continue;
    }
    report::NativeThread nt;
    nt.tid = th.tid;
    nt.name = th.name;
    nt.runtime_thread = runtime_tids.count(th.tid) != 0;
    nt.stack = to_report(stack);
    report.native_threads.push_back(std::move(nt));
  }
}

}  // namespace ifx
