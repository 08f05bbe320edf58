// Struct layouts and global addresses from the executable's DWARF, looked up by Go name the way
// a debugger does ("runtime.g", field path "sched.sp"). Not thread-safe: one per analysis.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/binary/dwarf.h"

namespace ifx {

// Where a (possibly nested) field lies inside its outermost struct.
struct FieldInfo {
  uint64_t offset = 0;
  uint64_t size = 0;
};

class DwarfTypes {
 public:
  explicit DwarfTypes(const std::string& exe_path);

  // Byte size of a named type.
  std::optional<uint64_t> type_size(std::string_view type) const;
  // A dotted field path inside a named struct ("gFree.stack.size"). A final field that is a
  // wrapper struct with a single sized member (atomic.Int32 and friends) resolves to that
  // member, so callers read the integer inside.
  std::optional<FieldInfo> field(std::string_view type, std::string_view path) const;
  // Address of a package-level variable ("runtime.allgs").
  std::optional<uint64_t> variable(std::string_view name) const;

 private:
  void index();

  DwarfFile dwarf_;
  std::unordered_map<std::string, uint64_t> types_;      // name -> DIE offset
  std::unordered_map<std::string, uint64_t> variables_;  // name -> address
};

}  // namespace ifx
