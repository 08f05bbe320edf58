// Builds GoType nodes from runtime type descriptors and from DWARF DIEs, cached by address/offset;
// a node is cached before its children are built, so recursive types terminate.
#include "core/values/go_type.h"

#include <dwarf.h>
#include <elfutils/libdw.h>

namespace ifx {
namespace {

constexpr int kMaxTypeDepth = 200;
constexpr unsigned kAtGoKind = 0x2900;
constexpr unsigned kAtGoRuntimeType = 0x2904;

std::optional<uint64_t> udata(Dwarf_Die* die, unsigned at) {
  Dwarf_Attribute attr;
  Dwarf_Word v = 0;
  if (dwarf_attr(die, at, &attr) == nullptr) return std::nullopt;
  if (dwarf_formudata(&attr, &v) == 0) return v;
  Dwarf_Addr a = 0;  // DW_AT_go_runtime_type may come as an address form
  if (dwarf_formaddr(&attr, &a) == 0) return a;
  return std::nullopt;
}

std::optional<Dwarf_Die> type_of(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  Dwarf_Die type;
  if (dwarf_attr(die, DW_AT_type, &attr) == nullptr) return std::nullopt;
  if (dwarf_formref_die(&attr, &type) == nullptr) return std::nullopt;
  return type;
}

std::string die_name(Dwarf_Die* die) {
  const char* n = dwarf_diename(die);
  return n != nullptr ? n : "";
}

}  // namespace

TypeSystem::TypeSystem(TypeReader& types, Dwarf* dwarf, uint64_t bias)
    : types_(types), dwarf_(dwarf), bias_(bias) {}

GoType* TypeSystem::make() {
  return &store_.emplace_back();
}

const GoType* TypeSystem::invalid(std::string why) {
  GoType* t = make();
  t->problem = std::move(why);
  t->resolved = true;
  return t;
}

const GoType* TypeSystem::from_runtime(RemoteAddr addr) {
  if (auto it = by_runtime_.find(addr.value()); it != by_runtime_.end()) return it->second;
  std::string why;
  auto rt = types_.read(addr, &why);
  if (!rt) {
    const GoType* bad = invalid(why);
    by_runtime_.emplace(addr.value(), bad);
    return bad;
  }
  GoType* t = make();
  by_runtime_.emplace(addr.value(), t);
  t->kind = rt->kind;
  t->name = rt->name;
  t->size = rt->size;
  t->runtime = addr;
  t->direct_iface = rt->direct_iface;
  if (depth_ >= kMaxTypeDepth) return t;  // children stay unknown: nesting too deep
  ++depth_;
  fill_runtime(*t, *rt);
  --depth_;
  return t;
}

void TypeSystem::fill_runtime(GoType& t, const RuntimeType& rt) {
  t.resolved = true;
  if (auto e = types_.elem(rt)) t.elem = from_runtime(*e);
  switch (rt.kind) {
    case Kind::kArray:
      t.len = types_.array_len(rt).value_or(0);
      break;
    case Kind::kMap: {
      if (auto k = types_.key(rt)) t.key = from_runtime(*k);
      if (auto g = types_.map_group(rt)) t.map_group = from_runtime(*g);
      break;
    }
    case Kind::kStruct:
      for (auto& f : types_.fields(rt)) {
        t.fields.push_back({f.name, from_runtime(f.type), f.offset, f.embedded});
      }
      break;
    case Kind::kInterface:
      t.empty_interface = types_.interface_methods(rt).empty();
      break;
    default:
      break;
  }
}

const GoType* TypeSystem::from_dwarf(uint64_t die_offset) {
  if (auto it = by_die_.find(die_offset); it != by_die_.end()) return it->second;
  Dwarf_Die die;
  if (dwarf_ == nullptr || dwarf_offdie(dwarf_, die_offset, &die) == nullptr)
    return invalid("no DWARF type");
  // Maps, channels and funcs: the runtime's descriptor tells the layout the runtime used.
  auto go_kind = udata(&die, kAtGoKind);
  if (go_kind && (*go_kind == static_cast<uint64_t>(Kind::kMap) ||
                  *go_kind == static_cast<uint64_t>(Kind::kChan) ||
                  *go_kind == static_cast<uint64_t>(Kind::kFunc))) {
    if (auto off = udata(&die, kAtGoRuntimeType)) {
      if (auto addr = types_.type_off(static_cast<int32_t>(*off))) {
        const GoType* t = from_runtime(*addr);
        if (t->kind != Kind::kInvalid) {
          by_die_.emplace(die_offset, t);
          return t;
        }
      }
    }
  }
  GoType* t = make();
  by_die_.emplace(die_offset, t);
  t->resolved = true;
  t->name = die_name(&die);
  Dwarf_Word size = 0;
  if (dwarf_aggregate_size(&die, &size) == 0) t->size = size;
  if (auto off = udata(&die, kAtGoRuntimeType))
    t->runtime = types_.type_off(static_cast<int32_t>(*off));
  if (depth_ >= kMaxTypeDepth) {
    t->problem = "type nesting too deep";
    return t;
  }
  ++depth_;
  int tag = dwarf_tag(&die);
  if (go_kind) t->kind = static_cast<Kind>(*go_kind & 0x1f);
  switch (tag) {
    case DW_TAG_base_type:
      if (!go_kind) {
        auto enc = udata(&die, DW_AT_encoding).value_or(0);
        t->kind = enc == DW_ATE_boolean  ? Kind::kBool
                  : enc == DW_ATE_float  ? (size == 4 ? Kind::kFloat32 : Kind::kFloat64)
                  : enc == DW_ATE_signed ? Kind::kInt64
                                         : Kind::kUint64;
      }
      break;
    case DW_TAG_pointer_type:
      if (auto e = type_of(&die)) {
        if (!go_kind) t->kind = Kind::kPointer;
        t->elem = from_dwarf(dwarf_dieoffset(&*e));
      } else {
        t->kind = Kind::kUnsafePointer;
      }
      t->size = 8;
      break;
    case DW_TAG_array_type: {
      t->kind = Kind::kArray;
      if (auto e = type_of(&die)) t->elem = from_dwarf(dwarf_dieoffset(&*e));
      Dwarf_Die sub;
      if (dwarf_child(&die, &sub) == 0) {
        if (auto c = udata(&sub, DW_AT_count)) {
          t->len = *c;
        } else if (auto u = udata(&sub, DW_AT_upper_bound)) {
          t->len = *u + 1;
        }
      }
      if (t->elem != nullptr) t->size = t->len * t->elem->size;
      break;
    }
    case DW_TAG_structure_type: {
      if (!go_kind) t->kind = Kind::kStruct;
      Dwarf_Die child;
      if (dwarf_child(&die, &child) == 0) {
        do {
          if (dwarf_tag(&child) != DW_TAG_member) continue;
          auto mt = type_of(&child);
          if (!mt) continue;
          GoType::Field f;
          f.name = die_name(&child);
          f.offset = udata(&child, DW_AT_data_member_location).value_or(0);
          f.embedded = udata(&child, 0x2903).value_or(0) != 0;
          f.type = from_dwarf(dwarf_dieoffset(&*mt));
          t->fields.push_back(std::move(f));
        } while (dwarf_siblingof(&child, &child) == 0);
      }
      if (t->kind == Kind::kSlice) {
        Dwarf_Attribute attr;
        Dwarf_Die elem;
        if (dwarf_attr(&die, 0x2902, &attr) != nullptr &&
            dwarf_formref_die(&attr, &elem) != nullptr)
          t->elem = from_dwarf(dwarf_dieoffset(&elem));
        for (auto& f : t->fields) {
          if (t->elem == nullptr && f.name == "array" && f.type->kind == Kind::kPointer)
            t->elem = f.type->elem;
        }
      }
      break;
    }
    case DW_TAG_typedef: {
      auto next = type_of(&die);
      if (!next) break;
      const GoType* u = from_dwarf(dwarf_dieoffset(&*next));
      std::string name = t->name;
      auto runtime = t->runtime;
      if (t->kind == Kind::kInterface || u->kind == Kind::kInterface) {
        t->kind = Kind::kInterface;
        t->empty_interface = u->name == "runtime.eface" || u->empty_interface;
        t->size = 16;
      } else {
        *t = *u;
        t->name = name;
        if (runtime) t->runtime = runtime;
      }
      break;
    }
    case DW_TAG_subroutine_type:
      t->kind = Kind::kFunc;
      t->size = 8;
      break;
    default:
      if (!go_kind) t->problem = fmt::format("DWARF tag {:#x} not understood", tag);
      break;
  }
  --depth_;
  return t;
}

}  // namespace ifx
