// Resolves DWARF variables to types and addresses and renders frame locals.
#include "core/analysis/variables.h"

#include <cstring>

namespace ifx {

size_t AssembledMemory::read(RemoteAddr addr, std::span<uint8_t> out) {
  if (addr.value() < kBase) return target_.read(addr, out);
  uint64_t off = addr.value() - kBase;
  if (off >= bytes_.size()) return 0;
  size_t n = std::min<size_t>(out.size(), bytes_.size() - off);
  std::copy_n(bytes_.begin() + static_cast<ptrdiff_t>(off), n, out.begin());
  return n;
}

VariableSession::VariableSession(GoRuntime& rt, ValueLimits limits) : rt_(rt), types_(rt) {
  if (!rt.binary().has_dwarf()) {
    no_dwarf_ = "the executable has no DWARF (stripped): variables cannot be located";
  } else {
    try {
      dwarf_ = std::make_unique<DwarfVars>(rt.binary().elf().name());
    } catch (const Error& e) {
      no_dwarf_ = fmt::format("DWARF unusable: {}", e.what());
    }
  }
  system_ = std::make_unique<TypeSystem>(types_, dwarf_ ? dwarf_->handle() : nullptr, rt.bias());
  values_ = std::make_unique<ValueReader>(*system_, rt.memory(), limits);
}

namespace {

// DWARF's amd64 register numbers (System V psABI) in a thread's general registers.
std::optional<uint64_t> dwarf_register(const user_regs_struct& r, unsigned n) {
  switch (n) {
    case 0:
      return r.rax;
    case 1:
      return r.rdx;
    case 2:
      return r.rcx;
    case 3:
      return r.rbx;
    case 4:
      return r.rsi;
    case 5:
      return r.rdi;
    case 6:
      return r.rbp;
    case 7:
      return r.rsp;
    case 8:
      return r.r8;
    case 9:
      return r.r9;
    case 10:
      return r.r10;
    case 11:
      return r.r11;
    case 12:
      return r.r12;
    case 13:
      return r.r13;
    case 14:
      return r.r14;
    case 15:
      return r.r15;
    default:
      return std::nullopt;  // vector registers are not in the general set
  }
}

}  // namespace

// Contiguous pieces in memory read in place; pieces in several stack slots or registers are
// assembled. A piece in a register needs the registers of the thread running the frame (`regs`:
// only for a running goroutine's innermost frame); without them, or optimised away, the value is
// unavailable.
void resolve_pieces(Memory& mem, std::vector<VarPiece> pieces, ResolvedVariable& v,
                    const user_regs_struct* regs) {
  constexpr uint64_t kMaxAssembled = 4096;
  // Go 1.18/1.19 describe register-ABI arguments with every piece twice; when the pieces add up
  // to more than the type, drop the repeats.
  uint64_t sum = 0;
  for (const VarPiece& p : pieces) sum += p.size;
  if (v.type != nullptr && pieces.size() > 1 && sum > v.type->size) {
    std::vector<VarPiece> unique;
    for (const VarPiece& p : pieces) {
      if (unique.empty() || unique.back().addr != p.addr || unique.back().reg != p.reg ||
          unique.back().size != p.size)
        unique.push_back(p);
    }
    pieces = std::move(unique);
  }
  if (pieces.empty()) {
    v.unavailable = "optimized away";
    return;
  }
  // A single piece without a size is the whole value.
  if (pieces.size() == 1 && pieces[0].size == 0 && v.type != nullptr) pieces[0].size = v.type->size;
  bool contiguous = true, in_memory = true;
  uint64_t total = 0;
  for (const VarPiece& p : pieces) {
    if (p.reg) {
      in_memory = false;
      if (regs == nullptr) {
        v.unavailable = "in a register, unavailable";
        return;
      }
      if (p.size > 8 || !dwarf_register(*regs, *p.reg)) {
        v.unavailable = fmt::format("in register {}, not read", *p.reg);
        return;
      }
    } else if (!p.addr) {
      v.unavailable = pieces.size() == 1 ? "optimized away" : "partly optimized away";
      return;
    } else if (in_memory && *p.addr != *pieces.front().addr + total) {
      contiguous = false;
    }
    total += p.size;
  }
  if (in_memory && contiguous) {
    v.addr = RemoteAddr(*pieces.front().addr);
    return;
  }
  if (total > kMaxAssembled) {
    v.unavailable = "split across stack slots";
    return;
  }
  std::vector<uint8_t> bytes;
  for (const VarPiece& p : pieces) {
    size_t at = bytes.size();
    bytes.resize(at + p.size);
    if (p.reg) {
      uint64_t value = *dwarf_register(*regs, *p.reg);
      std::memcpy(bytes.data() + at, &value, p.size);
      continue;
    }
    if (!mem.read_exact(RemoteAddr(*p.addr), std::span<uint8_t>(bytes.data() + at, p.size))) {
      v.unavailable =
          fmt::format("unreadable: {}", mem.why_unreadable(RemoteAddr(*p.addr), p.size));
      return;
    }
  }
  v.assembled = std::make_shared<AssembledMemory>(mem, std::move(bytes));
  v.addr = RemoteAddr(AssembledMemory::kBase);
}

namespace {

// Newer compilers also describe the words of a decomposed interface, string or slice as variables
// of their own ("err.itab", "err.data"), in stack slots where the whole variable has no location:
// the whole is assembled from them, and the parts are not listed.
void reassemble_components(Memory& mem, const std::vector<FrameVariable>& raw,
                           std::vector<ResolvedVariable>& vars) {
  auto find = [&](const std::string& name) -> const FrameVariable* {
    for (const auto& fv : raw) {
      if (fv.name == name && fv.unavailable.empty() && fv.pieces.size() == 1 && fv.pieces[0].addr)
        return &fv;
    }
    return nullptr;
  };
  auto is_whole = [&](const std::string& name) {
    return std::any_of(vars.begin(), vars.end(), [&](const ResolvedVariable& w) {
      return w.name == name.substr(0, name.rfind('.'));
    });
  };
  for (ResolvedVariable& v : vars) {
    if (v.addr || v.type == nullptr) continue;
    std::vector<std::vector<std::string>> shapes;
    if (v.type->kind == Kind::kInterface) shapes = {{"itab", "data"}, {"type", "data"}};
    if (v.type->kind == Kind::kString) shapes = {{"ptr", "len"}};
    if (v.type->kind == Kind::kSlice) shapes = {{"ptr", "len", "cap"}};
    for (const auto& shape : shapes) {
      std::vector<VarPiece> pieces;
      for (const auto& part : shape) {
        const FrameVariable* c = find(v.name + "." + part);
        if (c == nullptr) break;
        pieces.push_back({8, c->pieces[0].addr, std::nullopt});
      }
      if (pieces.size() != shape.size()) continue;
      v.unavailable.clear();
      resolve_pieces(mem, pieces, v, nullptr);
      break;
    }
  }
  std::erase_if(vars, [&](const ResolvedVariable& v) {
    return v.name.find('.') != std::string::npos && is_whole(v.name);
  });
}

}  // namespace

std::vector<ResolvedVariable> VariableSession::globals() {
  std::vector<ResolvedVariable> out;
  if (!dwarf_) return out;
  for (const DwarfGlobal& g : dwarf_->globals()) {
    ResolvedVariable v;
    v.name = g.name;
    v.type = system_->from_dwarf(g.type_die);
    v.addr = RemoteAddr(g.addr + rt_.bias());
    out.push_back(std::move(v));
  }
  return out;
}

const user_regs_struct* VariableSession::thread_registers(const report::Goroutine& g,
                                                          const report::Frame& innermost) {
  if (g.status != "running" || !g.thread) return nullptr;
  for (const Thread& t : rt_.target().threads()) {
    if (t.tid == *g.thread && t.has_regs && t.regs.rsp == innermost.sp &&
        t.regs.rip == innermost.pc)
      return &t.regs;
  }
  return nullptr;
}

std::vector<ResolvedVariable> VariableSession::frame_variables(const report::Frame& f, bool trapped,
                                                               const user_regs_struct* regs) {
  std::vector<ResolvedVariable> out;
  if (!dwarf_ || f.inlined) return out;
  uint64_t pc = f.pc - rt_.bias() - (trapped ? 0 : 1);
  uint64_t cfa = f.sp + static_cast<uint64_t>(f.frame_size) + 8;
  std::vector<FrameVariable> raw = dwarf_->frame_variables(pc, cfa);
  for (FrameVariable& fv : raw) {
    ResolvedVariable v;
    v.name = fv.name;
    v.arg = fv.is_arg;
    v.type = system_->from_dwarf(fv.type_die);
    v.unavailable = fv.unavailable;
    v.inlined_function = fv.inlined_function;
    v.inline_depth = fv.inline_depth;
    if (v.unavailable.empty()) resolve_pieces(rt_.memory(), fv.pieces, v, trapped ? regs : nullptr);
    out.push_back(std::move(v));
  }
  reassemble_components(rt_.memory(), raw, out);
  return out;
}

size_t frame_of_variable(const std::vector<report::Frame>& frames, size_t physical,
                         const ResolvedVariable& v) {
  if (v.inline_depth <= 0) return physical;
  size_t first = physical;  // the innermost inlined frame of this physical frame
  while (first > 0 && frames[first - 1].inlined) --first;
  auto depth = static_cast<size_t>(v.inline_depth);
  if (depth <= physical - first && frames[physical - depth].function == v.inlined_function)
    return physical - depth;
  for (size_t i = first; i < physical; ++i) {
    if (frames[i].function == v.inlined_function) return i;
  }
  return physical;
}

void add_frame_locals(VariableSession& vars, report::Goroutines& gs) {
  gs.with_locals = true;
  if (!vars.no_dwarf().empty()) {
    gs.warnings.push_back(vars.no_dwarf() + ": no --locals");
    return;
  }
  for (report::Goroutine& g : gs.goroutines) {
    bool first = true;
    for (size_t i = 0; i < g.frames.size(); ++i) {
      if (g.frames[i].inlined) continue;
      bool trapped = first && g.status == "running";
      first = false;
      const user_regs_struct* regs = trapped ? vars.thread_registers(g, g.frames[i]) : nullptr;
      for (ResolvedVariable& v : vars.frame_variables(g.frames[i], trapped, regs)) {
        size_t at = frame_of_variable(g.frames, i, v);
        if (at == i && v.inline_depth > 0) continue;  // its inlined frame is not in the stack
        report::Frame& f = g.frames[at];
        report::Variable r;
        r.name = v.name;
        r.arg = v.arg;
        r.type = v.type != nullptr ? v.type->name : "?";
        r.unavailable = v.unavailable;
        if (v.addr && v.type != nullptr) {
          ValueReader local(vars.type_system(), v.assembled ? *v.assembled : vars.values().memory(),
                            vars.values().limits());
          r.value = local.render(v.type, *v.addr);
          if (v.type->kind == Kind::kInterface) {
            InterfaceValue iv = local.interface_value(v.type, *v.addr);
            if (iv.dynamic != nullptr) r.dynamic_type = iv.dynamic->name;
          }
        }
        f.locals.push_back(std::move(r));
      }
    }
  }
}

}  // namespace ifx
