// Resolves DWARF variables to types and addresses and renders frame locals.
#include "core/analysis/variables.h"

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

// Contiguous pieces in memory read in place; pieces in several stack slots are assembled; a piece
// in a register (gone in a parked frame) or optimised away makes the value unavailable.
void resolve_pieces(Memory& mem, std::vector<VarPiece> pieces, ResolvedVariable& v) {
  constexpr uint64_t kMaxAssembled = 4096;
  // Go 1.18/1.19 describe register-ABI arguments with every piece twice; when the pieces add up
  // to more than the type, drop the repeats.
  uint64_t sum = 0;
  for (const VarPiece& p : pieces) sum += p.size;
  if (v.type != nullptr && pieces.size() > 1 && sum > v.type->size) {
    std::vector<VarPiece> unique;
    for (const VarPiece& p : pieces) {
      if (unique.empty() || unique.back().addr != p.addr || unique.back().size != p.size)
        unique.push_back(p);
    }
    pieces = std::move(unique);
  }
  bool contiguous = true;
  uint64_t total = 0;
  for (const VarPiece& p : pieces) {
    if (!p.addr) {
      v.unavailable =
          pieces.size() == 1 ? "optimized away" : "partly optimized away or in registers";
      return;
    }
    if (*p.addr != *pieces.front().addr + total) contiguous = false;
    total += p.size;
  }
  if (pieces.empty()) {
    v.unavailable = "optimized away";
    return;
  }
  if (contiguous) {
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
    if (!mem.read_exact(RemoteAddr(*p.addr), std::span<uint8_t>(bytes.data() + at, p.size))) {
      v.unavailable =
          fmt::format("unreadable: {}", mem.why_unreadable(RemoteAddr(*p.addr), p.size));
      return;
    }
  }
  v.assembled = std::make_shared<AssembledMemory>(mem, std::move(bytes));
  v.addr = RemoteAddr(AssembledMemory::kBase);
}

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
        pieces.push_back({8, c->pieces[0].addr});
      }
      if (pieces.size() != shape.size()) continue;
      v.unavailable.clear();
      resolve_pieces(mem, pieces, v);
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

std::vector<ResolvedVariable> VariableSession::frame_variables(const report::Frame& f,
                                                               bool trapped) {
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
    if (v.unavailable.empty()) resolve_pieces(rt_.memory(), fv.pieces, v);
    out.push_back(std::move(v));
  }
  reassemble_components(rt_.memory(), raw, out);
  return out;
}

void add_frame_locals(VariableSession& vars, report::Goroutines& gs) {
  gs.with_locals = true;
  if (!vars.no_dwarf().empty()) {
    gs.warnings.push_back(vars.no_dwarf() + ": no --locals");
    return;
  }
  for (report::Goroutine& g : gs.goroutines) {
    bool first = true;
    for (report::Frame& f : g.frames) {
      if (f.inlined) continue;
      bool trapped = first && g.status == "running";
      first = false;
      for (ResolvedVariable& v : vars.frame_variables(f, trapped)) {
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
