// Chooses the built-in layout for a Go version: the exact minor version when there is a table
// for it, else the nearest one, marked as a guess so that the report says so.
#include <fmt/format.h>

#include <cstdlib>

#include "core/runtime/layout.h"
#include "core/runtime/layout_table_data.h"

namespace ifx {

std::optional<Layout> layout_from_table(const GoVersion& v) {
  if (!v.known() || kLayoutTableCount == 0) return std::nullopt;
  const LayoutTable* best = nullptr;
  int best_distance = 0;
  for (size_t i = 0; i < kLayoutTableCount; ++i) {
    const LayoutTable& t = kLayoutTables[i];
    if (t.major != v.major) continue;
    int distance = std::abs(t.minor - v.minor);
    if (best == nullptr || distance <= best_distance) {  // ties go to the newer table
      best = &t;
      best_distance = distance;
    }
  }
  if (best == nullptr) return std::nullopt;
  Layout l;
  l.guessed = best_distance != 0;
  l.source = fmt::format("table {}", best->version);
  if (l.guessed) l.source += fmt::format(" (guessed for go{}.{})", v.major, v.minor);
  for (const LayoutTableEntry& e : best->entries) {
    if (e.name.empty()) break;
    for (size_t f = 0; f < static_cast<size_t>(Fld::kCount); ++f) {
      if (field_name(static_cast<Fld>(f)) == e.name)
        l.set(static_cast<Fld>(f), FieldInfo{e.offset, e.size});
    }
    for (size_t t = 0; t < static_cast<size_t>(Typ::kCount); ++t) {
      if (type_name(static_cast<Typ>(t)) == e.name) l.set(static_cast<Typ>(t), e.offset);
    }
  }
  return l;
}

}  // namespace ifx
