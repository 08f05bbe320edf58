// Indexes package-level variables and function pc ranges once; evaluates the few location
// operations Go's compiler emits (addr, call_frame_cfa, fbreg, piece, registers).
#include "core/values/dwarf_vars.h"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <algorithm>

namespace ifx {
namespace {

constexpr int kMaxScopeDepth = 64;
constexpr size_t kMaxVariables = 4096;
constexpr size_t kMaxCachedPcs = 1 << 16;

// DW_AT_type, also through DW_AT_abstract_origin (the variables of an inlined call name their
// type on the abstract function's variables).
std::optional<uint64_t> type_die(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  Dwarf_Die type;
  if (dwarf_attr_integrate(die, DW_AT_type, &attr) == nullptr) return std::nullopt;
  if (dwarf_formref_die(&attr, &type) == nullptr) return std::nullopt;
  return dwarf_dieoffset(&type);
}

std::string integrated_name(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  const char* n = nullptr;
  if (dwarf_attr_integrate(die, DW_AT_name, &attr) != nullptr) n = dwarf_formstring(&attr);
  return n != nullptr ? n : "?";
}

// Evaluates one location expression; fills pieces or says why it cannot.
void evaluate(const Dwarf_Op* ops, size_t n, uint64_t cfa, FrameVariable& v) {
  std::vector<uint64_t> stack;
  bool in_register = false;
  unsigned reg = 0;
  auto flush = [&](uint64_t size) {
    VarPiece p;
    p.size = size;
    if (!in_register && !stack.empty()) p.addr = stack.back();
    if (in_register) p.reg = reg;
    v.pieces.push_back(p);
    stack.clear();
    in_register = false;
  };
  for (size_t i = 0; i < n; ++i) {
    const Dwarf_Op& op = ops[i];
    switch (op.atom) {
      case DW_OP_addr:
        stack.push_back(op.number);
        break;
      case DW_OP_call_frame_cfa:
        stack.push_back(cfa);
        break;
      case DW_OP_fbreg:
        stack.push_back(cfa + static_cast<int64_t>(op.number));
        break;
      case DW_OP_consts:
        stack.push_back(op.number);
        break;
      case DW_OP_plus_uconst:
        if (!stack.empty()) stack.back() += op.number;
        break;
      case DW_OP_plus:
        if (stack.size() >= 2) {
          uint64_t b = stack.back();
          stack.pop_back();
          stack.back() += b;
        }
        break;
      case DW_OP_piece:
        flush(op.number);
        break;
      case DW_OP_regx:
        in_register = true;
        reg = static_cast<unsigned>(op.number);
        break;
      default:
        if (op.atom >= DW_OP_reg0 && op.atom <= DW_OP_reg31) {
          in_register = true;
          reg = op.atom - DW_OP_reg0;
          break;
        }
        v.unavailable = fmt::format("location operation {:#x} not supported", op.atom);
        return;
    }
  }
  if (v.pieces.empty()) {
    if (in_register) {
      v.pieces.push_back({0, std::nullopt, reg});  // the whole value, in one register
    } else if (stack.empty()) {
      v.unavailable = "optimized away";
    } else {
      v.pieces.push_back({0, stack.back(), std::nullopt});
    }
  } else if (!stack.empty() || in_register) {
    flush(0);
  }
}

}  // namespace

DwarfVars::DwarfVars(const std::string& exe_path) : dwarf_(exe_path) {
  index();
}

void DwarfVars::index() {
  Dwarf_Off off = 0, next = 0;
  size_t header_size = 0;
  while (dwarf_nextcu(dwarf_.handle(), off, &next, &header_size, nullptr, nullptr, nullptr) == 0) {
    Dwarf_Die cu, child;
    if (dwarf_offdie(dwarf_.handle(), off + header_size, &cu) != nullptr &&
        dwarf_child(&cu, &child) == 0) {
      do {
        int tag = dwarf_tag(&child);
        if (tag == DW_TAG_variable) {
          const char* name = dwarf_diename(&child);
          Dwarf_Attribute attr;
          Dwarf_Block block;
          auto t = type_die(&child);
          // Go writes DW_OP_addr as a DW_FORM_block1, which libdw does not take for a location
          // expression in DWARF 4: decode the block itself.
          if (name != nullptr && t && dwarf_attr(&child, DW_AT_location, &attr) != nullptr &&
              dwarf_formblock(&attr, &block) == 0 && block.length == 9 &&
              block.data[0] == DW_OP_addr) {
            uint64_t addr = 0;
            for (int i = 0; i < 8; ++i) addr |= uint64_t{block.data[1 + i]} << (8 * i);
            globals_.push_back({name, addr, *t});
          }
        } else if (tag == DW_TAG_subprogram) {
          Dwarf_Addr low = 0, high = 0;
          if (dwarf_lowpc(&child, &low) == 0 && dwarf_highpc(&child, &high) == 0 && high > low)
            funcs_.push_back({low, high, dwarf_dieoffset(&child)});
        }
      } while (dwarf_siblingof(&child, &child) == 0);
    }
    off = next;
  }
  std::sort(funcs_.begin(), funcs_.end(),
            [](const FuncRange& a, const FuncRange& b) { return a.low < b.low; });
  std::sort(globals_.begin(), globals_.end(),
            [](const DwarfGlobal& a, const DwarfGlobal& b) { return a.name < b.name; });
}

bool DwarfVars::has_function(uint64_t pc) const {
  auto it = std::upper_bound(funcs_.begin(), funcs_.end(), pc,
                             [](uint64_t p, const FuncRange& f) { return p < f.low; });
  return it != funcs_.begin() && pc < std::prev(it)->high;
}

std::vector<FrameVariable> DwarfVars::frame_variables(uint64_t pc, uint64_t cfa) const {
  // Goroutines parked at the same pc share everything but the CFA: evaluate once against a
  // sentinel CFA, then move the CFA-relative addresses to this frame's.
  constexpr uint64_t kSentinel = uint64_t{1} << 62;
  auto it = by_pc_.find(pc);
  if (it == by_pc_.end()) {
    if (by_pc_.size() >= kMaxCachedPcs) by_pc_.clear();
    it = by_pc_.emplace(pc, evaluate_at(pc, kSentinel)).first;
  }
  std::vector<FrameVariable> out = it->second;
  for (FrameVariable& v : out) {
    for (VarPiece& p : v.pieces) {
      if (p.addr && *p.addr >= kSentinel / 2) *p.addr = *p.addr - kSentinel + cfa;
    }
  }
  return out;
}

std::vector<FrameVariable> DwarfVars::evaluate_at(uint64_t pc, uint64_t cfa) const {
  std::vector<FrameVariable> out;
  auto it = std::upper_bound(funcs_.begin(), funcs_.end(), pc,
                             [](uint64_t p, const FuncRange& f) { return p < f.low; });
  if (it == funcs_.begin() || pc >= std::prev(it)->high) return out;
  Dwarf_Die fn;
  if (dwarf_offdie(dwarf_.handle(), std::prev(it)->die, &fn) == nullptr) return out;
  std::vector<FrameVariable> locals;
  // Variables of inlined calls, per inlining depth (args first, then locals, in each).
  std::vector<std::vector<FrameVariable>> inlined;
  auto visit = [&](auto& self, Dwarf_Die* scope, int depth, int inline_depth,
                   const std::string& inline_fn) -> void {
    Dwarf_Die child;
    if (depth > kMaxScopeDepth || dwarf_child(scope, &child) != 0) return;
    do {
      int tag = dwarf_tag(&child);
      if (tag == DW_TAG_lexical_block) {
        if (dwarf_haspc(&child, pc) == 1) self(self, &child, depth + 1, inline_depth, inline_fn);
        continue;
      }
      if (tag == DW_TAG_inlined_subroutine) {
        if (dwarf_haspc(&child, pc) == 1)
          self(self, &child, depth + 1, inline_depth + 1, integrated_name(&child));
        continue;
      }
      if (tag != DW_TAG_formal_parameter && tag != DW_TAG_variable) continue;
      size_t count = out.size() + locals.size();
      for (const auto& d : inlined) count += d.size();
      if (count >= kMaxVariables) return;
      FrameVariable v;
      v.name = integrated_name(&child);
      v.is_arg = tag == DW_TAG_formal_parameter;
      v.inlined_function = inline_fn;
      v.inline_depth = inline_depth;
      v.type_die = type_die(&child).value_or(0);
      Dwarf_Attribute attr;
      if (dwarf_attr(&child, DW_AT_location, &attr) == nullptr) {
        v.unavailable = "optimized away";
      } else {
        Dwarf_Op* expr = nullptr;
        size_t len = 0;
        int n = dwarf_getlocation(&attr, &expr, &len) == 0
                    ? 1
                    : dwarf_getlocation_addr(&attr, pc, &expr, &len, 1);
        if (n <= 0) {
          v.unavailable = "optimized away at this pc";
        } else {
          evaluate(expr, len, cfa, v);
        }
      }
      if (inline_depth == 0) {
        (v.is_arg ? out : locals).push_back(std::move(v));
      } else {
        if (inlined.size() < static_cast<size_t>(inline_depth)) inlined.resize(inline_depth);
        auto& at = inlined[inline_depth - 1];
        auto pos = v.is_arg ? std::find_if(at.begin(), at.end(),
                                           [](const FrameVariable& x) { return !x.is_arg; })
                            : at.end();
        at.insert(pos, std::move(v));
      }
    } while (dwarf_siblingof(&child, &child) == 0);
  };
  visit(visit, &fn, 0, 0, std::string());
  for (auto& v : locals) out.push_back(std::move(v));
  for (auto& d : inlined) {
    for (auto& v : d) out.push_back(std::move(v));
  }
  return out;
}

}  // namespace ifx
