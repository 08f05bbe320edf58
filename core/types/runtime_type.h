// Runtime type descriptors (runtime._type up to Go 1.20, internal/abi.Type from 1.21) and itabs,
// read from the target with the layouts of its Go version: the header every type has, its name,
// and the kind-specific parts (elements, fields, methods, uncommon type). Not thread-safe: the
// reader caches what it decoded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/runtime/go_runtime.h"

namespace ifx {

// reflect.Kind numbering, the same in every supported version.
enum class Kind : uint8_t {
  kInvalid = 0,
  kBool,
  kInt,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUint,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kUintptr,
  kFloat32,
  kFloat64,
  kComplex64,
  kComplex128,
  kArray,
  kChan,
  kFunc,
  kInterface,
  kMap,
  kPointer,
  kSlice,
  kString,
  kStruct,
  kUnsafePointer,
};

std::string_view kind_name(Kind k);  // "ptr", "struct", ... as reflect.Kind.String says

// TFlag bits.
inline constexpr uint8_t kTFlagUncommon = 1;
inline constexpr uint8_t kTFlagExtraStar = 2;
inline constexpr uint8_t kTFlagNamed = 4;
inline constexpr uint8_t kTFlagGCMaskOnDemand = 0x10;  // Go 1.24+: gcdata is a **byte

// The header every runtime type starts with. Addresses are runtime addresses.
struct RuntimeType {
  RemoteAddr addr;
  uint64_t size = 0;
  uint64_t ptrdata = 0;  // bytes of the prefix that may hold pointers
  uint32_t hash = 0;
  uint8_t tflag = 0;
  Kind kind = Kind::kInvalid;
  bool direct_iface = false;  // stored in an interface's data word itself (pointer-shaped)
  RemoteAddr gcdata;          // pointer bitmap; with kTFlagGCMaskOnDemand one dereference away
  int32_t str = 0;            // name offset from moduledata.types
  int32_t ptr_to_this = 0;    // type offset from moduledata.types, 0 if none
  std::string name;           // as %T prints it ("*main.MyErr"); "" when unreadable

  bool gcmask_on_demand() const { return (tflag & kTFlagGCMaskOnDemand) != 0; }
  bool named() const { return (tflag & kTFlagNamed) != 0; }
  // Kinds whose nil value is a nil data word in an interface: the typed-nil pitfall.
  bool nil_able_pointer_shape() const {
    return kind == Kind::kPointer || kind == Kind::kMap || kind == Kind::kChan ||
           kind == Kind::kFunc || kind == Kind::kUnsafePointer;
  }
};

struct StructFieldDesc {
  std::string name;
  RemoteAddr type;
  uint64_t offset = 0;
  bool embedded = false;
};

struct MethodDesc {
  std::string name;
  int32_t type_off = 0;
};

struct UncommonDesc {
  std::string pkg_path;
  uint16_t mcount = 0;
  uint16_t xcount = 0;
  std::vector<std::string> methods;  // names, up to a bound
};

struct Itab {
  RemoteAddr inter;  // *interfacetype
  RemoteAddr type;   // *_type of the dynamic value
};

// Bounds on tables read from the target.
struct TypeLimits {
  size_t max_fields = 4096;
  size_t max_methods = 4096;
  size_t max_name_bytes = 4096;
};

class TypeReader {
 public:
  explicit TypeReader(GoRuntime& rt, TypeLimits limits = {});

  // The type header at addr; nullopt with *why set when it cannot be read or is implausible
  // (outside the module's type sections, unknown kind).
  std::optional<RuntimeType> read(RemoteAddr addr, std::string* why = nullptr);
  // Itab at addr (an iface's first word).
  std::optional<Itab> itab(RemoteAddr addr, std::string* why = nullptr);

  // Kind-specific parts; nullopt when the type is of another kind or unreadable.
  std::optional<RemoteAddr> elem(const RuntimeType& t);  // ptr, slice, array, chan, map
  std::optional<RemoteAddr> key(const RuntimeType& t);   // map
  std::optional<uint64_t> array_len(const RuntimeType& t);
  std::optional<uint64_t> chan_dir(const RuntimeType& t);
  // map: the bucket (classic) or slot group (swiss) type.
  std::optional<RemoteAddr> map_group(const RuntimeType& t);
  std::vector<StructFieldDesc> fields(const RuntimeType& t);
  std::vector<MethodDesc> interface_methods(const RuntimeType& t);
  std::optional<UncommonDesc> uncommon(const RuntimeType& t);
  std::optional<std::pair<uint16_t, uint16_t>> func_counts(const RuntimeType& t);  // in, out

  // A name at a name offset from moduledata.types (nameOff), or a name struct's bytes pointer.
  std::optional<std::string> name_off(int32_t off);
  std::optional<std::string> name_at(RemoteAddr bytes);
  // A type at a type offset from moduledata.types (typeOff).
  std::optional<RemoteAddr> type_off(int32_t off) const;

  bool in_type_sections(RemoteAddr a) const { return types_.contains(a); }
  RemoteRange types_section() const { return types_; }
  // Why type descriptors cannot be read at all ("" when they can).
  const std::string& problem() const { return problem_; }
  GoRuntime& runtime() { return rt_; }

 private:
  bool read_bytes(RemoteAddr addr, std::span<uint8_t> out);
  std::optional<uint64_t> field(RemoteAddr base, Fld f);
  std::optional<uint64_t> type_size(Typ t) const { return rt_.layout().size(t); }

  GoRuntime& rt_;
  TypeLimits limits_;
  RemoteRange types_;
  bool kind_flag_in_tflag_ = false;  // Go 1.26+: direct-iface moved from Kind_ to TFlag
  std::string problem_;
  std::unordered_map<uint64_t, RuntimeType> cache_;
  std::unordered_map<uint64_t, std::string> names_;
};

}  // namespace ifx
