// One model of a Go type for the value reader, built from the runtime's type descriptors (always
// present, also in stripped binaries) or from DWARF (static types of variables). DWARF types that
// name their runtime type (DW_AT_go_runtime_type) for maps, channels and funcs use the runtime
// descriptor, so maps are walked with the layout the runtime itself used. Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/types/runtime_type.h"

struct Dwarf;

namespace ifx {

struct GoType {
  Kind kind = Kind::kInvalid;
  std::string name;
  uint64_t size = 0;
  const GoType* elem = nullptr;  // ptr, slice, array, chan, map (value)
  const GoType* key = nullptr;   // map
  uint64_t len = 0;              // array
  struct Field {
    std::string name;
    const GoType* type = nullptr;
    uint64_t offset = 0;
    bool embedded = false;
  };
  std::vector<Field> fields;          // struct
  bool empty_interface = false;       // interface: eface (no methods) or iface
  std::optional<RemoteAddr> runtime;  // its runtime type descriptor, when known
  const GoType* map_group = nullptr;  // map: bucket (classic) or slot group (swiss)
  bool direct_iface = false;          // stored in an interface's data word itself
  bool resolved = false;              // fields/elem filled
  std::string problem;                // why it is unknown, if kind is kInvalid
};

class TypeSystem {
 public:
  // dwarf may be null (stripped): only runtime types then.
  TypeSystem(TypeReader& types, Dwarf* dwarf, uint64_t bias);

  // The type at a runtime type descriptor; kind kInvalid with a problem when unreadable.
  const GoType* from_runtime(RemoteAddr addr);
  // The type of a DWARF DIE (by offset).
  const GoType* from_dwarf(uint64_t die_offset);
  TypeReader& reader() { return types_; }

 private:
  GoType* make();
  void fill_runtime(GoType& t, const RuntimeType& rt);
  const GoType* invalid(std::string why);

  TypeReader& types_;
  Dwarf* dwarf_;
  uint64_t bias_;
  std::deque<GoType> store_;
  std::unordered_map<uint64_t, const GoType*> by_runtime_;
  std::unordered_map<uint64_t, const GoType*> by_die_;
  int depth_ = 0;  // recursion guard while building
};

}  // namespace ifx
