// Typed reads of Go values from target memory: interfaces (eface/iface), strings, pointers,
// structs, slices, arrays and maps (classic hmap and swiss tables), rendered as short previews
// bounded in depth, elements and bytes. Unreadable parts say why; nothing is unbounded.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/target/memory.h"
#include "core/values/go_type.h"

namespace ifx {

// Bounds as configuration (defaults here, flags raise them).
struct ValueLimits {
  int max_depth = 2;                // nesting shown in previews
  size_t max_elements = 8;          // elements/fields/map entries shown per aggregate
  size_t max_string = 64;           // string bytes shown
  size_t max_walk_elements = 4096;  // elements visited per slice/array/map while scanning
  uint64_t max_map_buckets = 1 << 16;
};

// An interface value decoded.
struct InterfaceValue {
  bool nil = false;                 // both words zero
  const GoType* dynamic = nullptr;  // the dynamic type (null when nil or unreadable)
  uint64_t data_word = 0;
  RemoteAddr value_addr;  // where the dynamic value lies (the data word's slot if direct)
  std::string problem;    // why it could not be decoded
  // A non-nil interface whose dynamic type is a nil-able pointer shape holding nil.
  bool typed_nil() const;
};

class ValueReader {
 public:
  ValueReader(TypeSystem& types, Memory& mem, ValueLimits limits = {});
  // Without the runtime's type descriptors (unit tests): interfaces and maps are unreadable.
  explicit ValueReader(Memory& mem, ValueLimits limits = {});

  Memory& memory() { return mem_; }
  const ValueLimits& limits() const { return limits_; }

  // Delve-like preview: `error(*main.MyErr) nil`, `interface {}(int) 7`, `"text"`, `{A: 1}`.
  std::string render(const GoType* t, RemoteAddr addr, int depth = 0);
  InterfaceValue interface_value(const GoType* t, RemoteAddr addr);
  // Calls f(key address, element address) for up to `max` entries of the map whose header
  // pointer is `map_ptr`; false with *why when the map could not be walked (entries seen so far
  // were still passed to f).
  bool map_entries(const GoType* map, uint64_t map_ptr, size_t max,
                   const std::function<void(RemoteAddr, RemoteAddr)>& f, std::string* why);
  // Calls f(element address) for up to `max` values queued in the buffer of the channel whose
  // *hchan is `hchan`, in receive order; false with *why when the buffer could not be read.
  bool chan_elements(const GoType* chan, uint64_t hchan, size_t max,
                     const std::function<void(RemoteAddr)>& f, std::string* why);
  // The live slots of `n` consecutive map buckets (classic, with their overflow chains) or
  // groups (swiss) of type `group` at `base`: buckets found as heap objects of their own (a
  // stripped executable's typed heap), not through a map header. Calls f(key type, key address,
  // element type, element address) for up to `max` entries; false with *why when the group type
  // is not understood or a bucket is unreadable.
  using GroupEntryFn = std::function<void(const GoType*, RemoteAddr, const GoType*, RemoteAddr)>;
  bool group_entries(const GoType* group, uint64_t base, uint64_t n, size_t max,
                     const GroupEntryFn& f, std::string* why);
  // The element count a map header claims.
  std::optional<uint64_t> map_len(uint64_t map_ptr);
  std::optional<uint64_t> read_word(RemoteAddr a) { return mem_.read_u64(a); }
  std::string unreadable(RemoteAddr a, uint64_t size);

 private:
  std::string render_scalar(const GoType* t, RemoteAddr addr);
  std::string render_string(RemoteAddr addr);
  bool walk_classic(const GoType* map, uint64_t h, size_t max,
                    const std::function<void(RemoteAddr, RemoteAddr)>& f, std::string* why);
  bool walk_swiss(const GoType* map, uint64_t m, size_t max,
                  const std::function<void(RemoteAddr, RemoteAddr)>& f, std::string* why);

  TypeSystem* types_;  // null: no runtime types
  Memory& mem_;
  ValueLimits limits_;
};

// Go's %q-style quoting of bytes read from the target (ASCII escapes; non-ASCII as \xNN when
// not valid UTF-8).
std::string quote_go_string(std::string_view s);

}  // namespace ifx
