// The shape of the built-in layout tables (data in layout_table_data.cpp, generated).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ifx {

struct LayoutTableEntry {
  std::string_view name;  // a field ("runtime.g.goid") or a type ("runtime.g")
  uint64_t offset;        // field offset, or type size
  uint64_t size;          // field size; 0 for types
};

struct LayoutTable {
  int major;
  int minor;
  std::string_view version;       // the toolchain the table was taken from
  LayoutTableEntry entries[256];  // every area appends its entries
};

extern const LayoutTable kLayoutTables[];
extern const size_t kLayoutTableCount;

}  // namespace ifx
