// Addresses (in the executable's link-time coordinates) of the runtime's package-level variables.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/binary/go_binary.h"
#include "core/runtime/dwarf_types.h"
#include "core/runtime/layout.h"

namespace ifx {

struct Globals {
  std::array<std::optional<uint64_t>, static_cast<size_t>(Glob::kCount)> addr{};
  std::string source;  // "symbols", "DWARF", "code references" ...
  std::vector<std::string> problems;

  std::optional<uint64_t> get(Glob g) const { return addr[static_cast<size_t>(g)]; }
};

// From the symbol table, then DWARF; for stripped binaries from references in runtime code
// (see globals_stripped.cpp). Missing globals stay absent.
Globals find_globals(const GoBinary& bin, const DwarfTypes* dwarf);

}  // namespace ifx
