// runtime.scanstack from outside: per frame the locals and args bitmaps at PCDATA_StackMapIndex
// (getStackMap), all stack objects (the runtime scans only those a live slot reaches; taking
// them all over-approximates), conservative frames after asyncPreempt/debugCallV2 and for a
// running goroutine, then gobuf.ctxt, defer and panic records.
#include "core/heap/stack_roots.h"

#include <cstring>

namespace ifx {
namespace {

constexpr uint32_t kFuncdataStackObjectsIndex = 2;  // FUNCDATA_StackObjects
constexpr int32_t kArgsSizeUnknown = -0x80000000;
constexpr uint64_t kMaxStackObjects = 1 << 16;
constexpr uint64_t kMaxMapBits = 1 << 24;
constexpr size_t kMaxDefers = 100000;

struct StackMap {
  uint64_t nbit = 0;
  std::vector<uint8_t> bits;
  bool present = false;  // the funcdata exists
  bool ok = false;       // and the entry at the index was read
};

StackMap stack_map(const GoBinary& bin, const Func& f, uint32_t which, int32_t index) {
  StackMap m;
  auto head = bin.funcdata(f, which, 8);
  if (!head || head->size() < 8) return m;
  m.present = true;
  int32_t n = load_le<int32_t>(head->data());
  int32_t nbit = load_le<int32_t>(head->data() + 4);
  if (n <= 0 || nbit < 0 || static_cast<uint64_t>(nbit) > kMaxMapBits) return m;
  m.nbit = static_cast<uint64_t>(nbit);
  if (nbit == 0) {
    m.ok = true;
    return m;
  }
  if (index < 0 || index >= n) return m;
  uint64_t per = (m.nbit + 7) / 8;
  uint64_t need = 8 + (static_cast<uint64_t>(index) + 1) * per;
  auto all = bin.funcdata(f, which, need);
  if (!all || all->size() < need) return m;
  m.bits.assign(all->begin() + static_cast<ptrdiff_t>(need - per),
                all->begin() + static_cast<ptrdiff_t>(need));
  m.ok = true;
  return m;
}

}  // namespace

StackScanner::StackScanner(GoRuntime& rt, const HeapIndex& heap, const RootOptions& opts)
    : rt_(rt), heap_(heap), opts_(opts), special_(rt.binary()), cache_(rt.binary()) {
  // A link-time constant: read it from the file (a snapshot need not hold moduledata).
  auto md = rt.binary().moduledata_addr();
  auto field = rt.layout().field(Fld::kModuledataRodata);
  if (md && field) {
    if (auto v = rt.binary().elf().pointer_at(*md + field->offset)) rodata_ = *v + rt.bias();
  }
}

void StackScanner::words(const Goroutine& g, std::string_view name, const PhysicalFrame& f,
                         uint32_t index, uint64_t from, uint64_t nwords, const uint8_t* mask,
                         bool conservative, RootSet& out) {
  if (nwords == 0) return;
  if (nwords > g.stack_hi - g.stack_lo || from < g.stack_lo || from + nwords * 8 > g.stack_hi) {
    out.problems.push_back(
        fmt::format("goroutine {}: frame {} of {} lies outside its stack", g.goid, index, name));
    return;
  }
  buf_.resize(nwords * 8);
  size_t got = rt_.memory().read(RemoteAddr(from), buf_);
  if (got < buf_.size()) {
    out.problems.push_back(fmt::format("goroutine {}: frame {} of {}: stack unreadable at {:#x}",
                                       g.goid, index, name, from + got));
  }
  for (uint64_t w = 0; w < got / 8; ++w) {
    if (mask != nullptr && ((mask[w / 8] >> (w % 8)) & 1) == 0) continue;
    uint64_t v = 0;
    std::memcpy(&v, &buf_[w * 8], 8);
    if (v == 0) continue;
    Root r;
    r.kind = RootKind::kStack;
    r.slot = RemoteAddr(from + w * 8);
    r.value = RemoteAddr(v);
    r.goid = static_cast<int64_t>(g.goid);
    r.conservative = conservative;
    r.name = name;
    r.offset = r.slot.value() - f.sp;
    r.frame = index;
    out.roots.push_back(r);
  }
}

bool StackScanner::precise(const Goroutine& g, const PhysicalFrame& f, uint32_t index,
                           RootSet& out) {
  const GoBinary& bin = rt_.binary();
  const Pclntab& tab = bin.pclntab();
  std::string_view name = tab.func_name(f.func);
  if (f.frame_size < 0) return false;
  uint64_t fp = f.sp + static_cast<uint64_t>(f.frame_size) + 8;
  uint64_t varp = fp - 8;
  if (varp > f.sp) varp -= 8;  // the saved frame pointer
  uint64_t argp = fp;
  uint64_t pc = f.pc - rt_.bias();
  int32_t index_value = -1;
  if (pc != f.func.entry) {
    index_value = tab.pc_value(f.func, tab.pcdata_offset(f.func, kPcdataStackMapIndex), pc - 1);
  }
  if (index_value == -1) index_value = 0;
  // Locals.
  if (varp > f.sp) {
    StackMap locals = stack_map(bin, f.func, kFuncdataLocalsPointerMaps, index_value);
    if (!locals.ok) return false;
    if (locals.nbit > 0) {
      if (locals.nbit * 8 > varp - f.sp) return false;
      words(g, name, f, index, varp - locals.nbit * 8, locals.nbit, locals.bits.data(), false, out);
    }
  }
  // Arguments.
  if (f.func.args > 0 && f.func.args != kArgsSizeUnknown) {
    uint64_t n = static_cast<uint64_t>(f.func.args) / 8;
    if (name == "reflect.makeFuncStub" || name == "reflect.methodValueCall") {
      words(g, name, f, index, argp, n, nullptr, true, out);
    } else {
      StackMap args = stack_map(bin, f.func, kFuncdataArgsPointerMaps, index_value);
      if (!args.present) {
        words(g, name, f, index, argp, n, nullptr, true, out);
      } else if (!args.ok) {
        return false;
      } else if (args.nbit > 0) {
        words(g, name, f, index, argp, std::min(args.nbit, n), args.bits.data(), false, out);
      }
    }
  }
  // Stack objects: every one, with its own type bitmap.
  if (auto head = bin.funcdata(f.func, kFuncdataStackObjectsIndex, 8); head && head->size() >= 8) {
    uint64_t n = load_le<uint64_t>(head->data());
    if (n > kMaxStackObjects) return false;
    auto recs = bin.funcdata(f.func, kFuncdataStackObjectsIndex, 8 + n * 16);
    if (!recs || recs->size() < 8 + n * 16) return false;
    for (uint64_t i = 0; i < n; ++i) {
      const uint8_t* r = recs->data() + 8 + i * 16;
      int32_t off = load_le<int32_t>(r);
      int32_t size = load_le<int32_t>(r + 4);
      int32_t ptrdata = load_le<int32_t>(r + 8);
      uint32_t gcdataoff = load_le<uint32_t>(r + 12);
      if (size <= 0 || ptrdata == 0) continue;
      uint64_t base = off < 0 ? varp - static_cast<uint64_t>(-static_cast<int64_t>(off))
                              : argp + static_cast<uint64_t>(off);
      if (ptrdata < 0 || rodata_ == 0) {  // a GC program (Go 1.19-1.23): conservative
        words(g, name, f, index, base, static_cast<uint64_t>(size) / 8, nullptr, true, out);
        continue;
      }
      uint64_t nw = static_cast<uint64_t>(ptrdata) / 8;
      uint64_t mask_link = rodata_ + gcdataoff - rt_.bias();
      auto mask = bin.elf().file_bytes_at(mask_link, (nw + 7) / 8);
      if (!mask) {
        words(g, name, f, index, base, static_cast<uint64_t>(size) / 8, nullptr, true, out);
        continue;
      }
      std::vector<uint8_t> m(mask->begin(), mask->end());
      words(g, name, f, index, base, nw, m.data(), false, out);
    }
  }
  return true;
}

void StackScanner::scan_frame(const Goroutine& g, const PhysicalFrame& f, uint32_t index,
                              bool conservative, RootSet& out) {
  std::string_view name = rt_.binary().pclntab().func_name(f.func);
  if (!conservative) {
    bool ok = false;
    try {
      ok = precise(g, f, index, out);
    } catch (const Error& e) {
      out.problems.push_back(fmt::format("goroutine {}: {}", g.goid, e.what()));
    }
    if (ok) return;
    out.problems.push_back(
        fmt::format("goroutine {}: no stack map for {} at {:#x}; frame scanned conservatively",
                    g.goid, name, f.pc));
  }
  // The whole frame, locals and the outgoing args area below them, plus the return slot's
  // neighbours up to fp.
  uint64_t size = f.frame_size > 0 ? static_cast<uint64_t>(f.frame_size) : 0;
  uint64_t args =
      f.func.args > 0 && f.func.args != kArgsSizeUnknown ? static_cast<uint64_t>(f.func.args) : 0;
  words(g, name, f, index, f.sp, size / 8, nullptr, true, out);
  if (args > 0) words(g, name, f, index, f.sp + size + 8, args / 8, nullptr, true, out);
}

void StackScanner::conservative_stack(const Goroutine& g, uint64_t sp, std::string_view why,
                                      RootSet& out) {
  out.conservative_goroutines.push_back(static_cast<int64_t>(g.goid));
  out.problems.push_back(
      fmt::format("goroutine {}: {}; its stack is scanned conservatively", g.goid, why));
  if (sp < g.stack_lo || sp >= g.stack_hi) sp = g.stack_lo;
  PhysicalFrame f;
  f.sp = sp;
  words(g, "stack", f, 0, sp, std::min<uint64_t>((g.stack_hi - sp) / 8, 1 << 24), nullptr, true,
        out);
}

void StackScanner::records(const Goroutine& g, RootSet& out) {
  auto push = [&](std::string_view name, RemoteAddr slot, uint64_t value) {
    if (value == 0) return;
    Root r;
    r.kind = RootKind::kRuntime;
    r.slot = slot;
    r.value = RemoteAddr(value);
    r.goid = static_cast<int64_t>(g.goid);
    r.name = name;
    out.roots.push_back(r);
  };
  const Layout& l = rt_.layout();
  if (auto ctxt = l.field(Fld::kGSchedCtxt)) {
    RemoteAddr slot = g.g + ctxt->offset;
    push("gobuf.ctxt", slot, rt_.memory().read_u64(slot).value_or(0));
  }
  // Defer records: fn, link, and the record itself when heap-allocated (runtime.scanstack).
  auto fn = l.field(Fld::kDeferFn), link = l.field(Fld::kDeferLink),
       heap = l.field(Fld::kDeferHeap);
  uint64_t d = rt_.read_field(g.g, Fld::kGDefer).value_or(0);
  for (size_t i = 0; d != 0 && fn && link && i < kMaxDefers; ++i) {
    RemoteAddr rec(d);
    push("defer fn", rec + fn->offset, rt_.memory().read_u64(rec + fn->offset).value_or(0));
    uint64_t next = rt_.memory().read_u64(rec + link->offset).value_or(0);
    push("defer link", rec + link->offset, next);
    if (heap && rt_.read_field(rec, Fld::kDeferHeap).value_or(0) != 0) {
      push("defer record", g.g + l.field(Fld::kGDefer)->offset, d);
    }
    d = next;
  }
  // The panic record lives on the stack (a stack object of gopanic); scan it conservatively.
  if (uint64_t p = rt_.read_field(g.g, Fld::kGPanic).value_or(0); p != 0) {
    uint64_t size = l.size(Typ::kPanic).value_or(0);
    std::vector<uint8_t> b(std::min<uint64_t>(size, 4096));
    size_t got = rt_.memory().read(RemoteAddr(p), b);
    for (size_t w = 0; w + 8 <= got; w += 8) {
      uint64_t v = 0;
      std::memcpy(&v, &b[w], 8);
      push("panic record", RemoteAddr(p + w), v);
      if (!out.roots.empty() && out.roots.back().slot == RemoteAddr(p + w))
        out.roots.back().conservative = true;
    }
  }
}

void StackScanner::scan(const Goroutine& g, RootSet& out) {
  if (!g.unreadable.empty()) {
    out.problems.push_back(fmt::format("goroutine at {} unreadable: {}", g.g, g.unreadable));
    return;
  }
  if (g.status == kGdead || g.status == kGdeadextra || g.status == kGidle) return;
  if (g.status == kGrunning) {
    // Stopped anywhere: its registers and its whole used stack, conservatively.
    for (const Thread& t : rt_.target().threads()) {
      if (!t.has_regs || t.regs.rsp < g.stack_lo || t.regs.rsp >= g.stack_hi) continue;
      const unsigned long long regs[] = {t.regs.rax, t.regs.rbx, t.regs.rcx, t.regs.rdx,
                                         t.regs.rsi, t.regs.rdi, t.regs.rbp, t.regs.r8,
                                         t.regs.r9,  t.regs.r10, t.regs.r11, t.regs.r12,
                                         t.regs.r13, t.regs.r14, t.regs.r15};
      for (unsigned long long v : regs) {
        if (v == 0) continue;
        Root r;
        r.kind = RootKind::kStack;
        r.value = RemoteAddr(v);
        r.goid = static_cast<int64_t>(g.goid);
        r.conservative = true;
        r.name = "register";
        out.roots.push_back(r);
      }
      conservative_stack(g, t.regs.rsp, "running", out);
      records(g, out);
      return;
    }
    conservative_stack(g, g.sched_sp, "running and its thread's registers are unavailable", out);
    records(g, out);
    return;
  }
  UnwoundStack stack = unwind_goroutine(rt_, special_, cache_, g, opts_.max_frames);
  bool conservative_next = false;
  for (uint32_t i = 0; i < stack.frames.size(); ++i) {
    const PhysicalFrame& f = stack.frames[i];
    bool injected = special_.is_injected_call(f.func) &&
                    rt_.binary().pclntab().func_name(f.func) != "runtime.sigpanic";
    scan_frame(g, f, i, conservative_next || injected, out);
    conservative_next = injected;
  }
  if (!stack.error.empty() || stack.truncated) {
    // The rest of the stack above the last frame we understood: conservative.
    uint64_t from = stack.frames.empty() ? g.sched_sp : stack.frames.back().sp;
    conservative_stack(g, from,
                       stack.truncated ? "more frames than the bound"
                                       : fmt::format("unwinding stopped: {}", stack.error),
                       out);
  }
  records(g, out);
}

}  // namespace ifx
