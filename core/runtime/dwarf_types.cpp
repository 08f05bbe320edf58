// Indexes the top-level type and variable DIEs of every compilation unit once, then answers
// lookups by walking member DIEs.
#include "core/runtime/dwarf_types.h"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include "core/util/error.h"

namespace ifx {
namespace {

constexpr int kMaxUnwrap = 8;

std::optional<Dwarf_Die> type_of(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  Dwarf_Die type;
  if (dwarf_attr_integrate(die, DW_AT_type, &attr) == nullptr) return std::nullopt;
  if (dwarf_formref_die(&attr, &type) == nullptr) return std::nullopt;
  return type;
}

// Skips typedefs so member lookups see the struct underneath.
Dwarf_Die strip_typedefs(Dwarf_Die die) {
  for (int i = 0; i < kMaxUnwrap && dwarf_tag(&die) == DW_TAG_typedef; ++i) {
    auto t = type_of(&die);
    if (!t) break;
    die = *t;
  }
  return die;
}

std::optional<uint64_t> member_offset(Dwarf_Die* member) {
  Dwarf_Attribute attr;
  Dwarf_Word v = 0;
  if (dwarf_attr(member, DW_AT_data_member_location, &attr) == nullptr) return 0;
  if (dwarf_formudata(&attr, &v) != 0) return std::nullopt;
  return v;
}

std::optional<uint64_t> die_size(Dwarf_Die die) {
  die = strip_typedefs(die);
  Dwarf_Word size = 0;
  if (dwarf_aggregate_size(&die, &size) != 0) return std::nullopt;
  return size;
}

std::optional<Dwarf_Die> find_member(Dwarf_Die parent, std::string_view name) {
  parent = strip_typedefs(parent);
  Dwarf_Die child;
  if (dwarf_child(&parent, &child) != 0) return std::nullopt;
  do {
    if (dwarf_tag(&child) != DW_TAG_member) continue;
    const char* n = dwarf_diename(&child);
    if (n != nullptr && name == n) return child;
  } while (dwarf_siblingof(&child, &child) == 0);
  return std::nullopt;
}

// The single member of non-zero size of a struct, if it has exactly one.
std::optional<Dwarf_Die> sole_sized_member(Dwarf_Die parent) {
  parent = strip_typedefs(parent);
  if (dwarf_tag(&parent) != DW_TAG_structure_type) return std::nullopt;
  Dwarf_Die child;
  std::optional<Dwarf_Die> found;
  if (dwarf_child(&parent, &child) != 0) return std::nullopt;
  do {
    if (dwarf_tag(&child) != DW_TAG_member) continue;
    auto t = type_of(&child);
    auto size = t ? die_size(*t) : std::nullopt;
    if (!size || *size == 0) continue;
    if (found) return std::nullopt;
    found = child;
  } while (dwarf_siblingof(&child, &child) == 0);
  return found;
}

}  // namespace

DwarfTypes::DwarfTypes(const std::string& exe_path) : dwarf_(exe_path) {
  index();
}

void DwarfTypes::index() {
  Dwarf_Off off = 0, next = 0;
  size_t header_size = 0;
  while (dwarf_nextcu(dwarf_.handle(), off, &next, &header_size, nullptr, nullptr, nullptr) == 0) {
    Dwarf_Die cu, child;
    if (dwarf_offdie(dwarf_.handle(), off + header_size, &cu) != nullptr &&
        dwarf_child(&cu, &child) == 0) {
      do {
        int tag = dwarf_tag(&child);
        const char* name = dwarf_diename(&child);
        if (name == nullptr) continue;
        if (tag == DW_TAG_variable) {
          Dwarf_Attribute attr;
          Dwarf_Op* expr = nullptr;
          size_t len = 0;
          if (dwarf_attr(&child, DW_AT_location, &attr) != nullptr &&
              dwarf_getlocation(&attr, &expr, &len) == 0 && len == 1 &&
              expr[0].atom == DW_OP_addr) {
            variables_.emplace(name, expr[0].number);
          }
        } else if (tag == DW_TAG_structure_type || tag == DW_TAG_typedef ||
                   tag == DW_TAG_base_type || tag == DW_TAG_pointer_type) {
          types_.emplace(name, dwarf_dieoffset(&child));
        }
      } while (dwarf_siblingof(&child, &child) == 0);
    }
    off = next;
  }
}

std::optional<uint64_t> DwarfTypes::type_size(std::string_view type) const {
  auto it = types_.find(std::string(type));
  if (it == types_.end()) return std::nullopt;
  Dwarf_Die die;
  if (dwarf_offdie(dwarf_.handle(), it->second, &die) == nullptr) return std::nullopt;
  return die_size(die);
}

std::optional<FieldInfo> DwarfTypes::field(std::string_view type, std::string_view path) const {
  auto it = types_.find(std::string(type));
  if (it == types_.end()) return std::nullopt;
  Dwarf_Die current;
  if (dwarf_offdie(dwarf_.handle(), it->second, &current) == nullptr) return std::nullopt;
  uint64_t offset = 0;
  while (!path.empty()) {
    size_t dot = path.find('.');
    std::string_view name = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    auto member = find_member(current, name);
    if (!member) return std::nullopt;
    auto member_off = member_offset(&*member);
    auto member_type = type_of(&*member);
    if (!member_off || !member_type) return std::nullopt;
    offset += *member_off;
    current = *member_type;
  }
  for (int i = 0; i < kMaxUnwrap; ++i) {
    auto inner = sole_sized_member(current);
    if (!inner) break;
    auto inner_off = member_offset(&*inner);
    auto inner_type = type_of(&*inner);
    if (!inner_off || !inner_type) break;
    offset += *inner_off;
    current = *inner_type;
  }
  auto size = die_size(current);
  if (!size) return std::nullopt;
  return FieldInfo{offset, *size};
}

std::optional<uint64_t> DwarfTypes::variable(std::string_view name) const {
  auto it = variables_.find(std::string(name));
  if (it == variables_.end()) return std::nullopt;
  return it->second;
}

}  // namespace ifx
