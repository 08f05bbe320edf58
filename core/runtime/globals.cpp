// Global lookup by name; the stripped path lives in globals_stripped.cpp.
#include "core/runtime/globals.h"

namespace ifx {

Globals find_globals_in_code(const GoBinary& bin);

Globals find_globals(const GoBinary& bin, const DwarfTypes* dwarf) {
  Globals g;
  bool any = false;
  for (size_t i = 0; i < g.addr.size(); ++i) {
    for (std::string_view name : global_names(static_cast<Glob>(i))) {
      if (const ElfSymbol* s = bin.elf().symbol(name)) {
        g.addr[i] = s->value;
      } else if (dwarf != nullptr) {
        g.addr[i] = dwarf->variable(name);
      }
      if (g.addr[i]) break;
    }
    any = any || g.addr[i].has_value();
  }
  if (any) {
    g.source = bin.elf().has_symtab() ? "symbols" : "DWARF";
    return g;
  }
  return find_globals_in_code(bin);
}

}  // namespace ifx
