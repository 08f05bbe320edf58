// Decodes runtime type descriptors with the version's layouts (DWARF or the built-in tables).
#include "core/types/runtime_type.h"

#include <array>

namespace ifx {
namespace {

constexpr uint8_t kKindMask = 0x1f;
constexpr uint8_t kKindDirectIface = 0x20;   // in Kind_ before Go 1.26
constexpr uint8_t kTFlagDirectIface = 0x20;  // in TFlag from Go 1.26
constexpr uint8_t kNameEmbedded = 8;
constexpr uint64_t kMethodSize = 16;  // runtime.method / abi.Method: four 32-bit offsets

constexpr std::array<std::string_view, 27> kKindNames = {
    "invalid", "bool",      "int",        "int8",   "int16",  "int32",         "int64",
    "uint",    "uint8",     "uint16",     "uint32", "uint64", "uintptr",       "float32",
    "float64", "complex64", "complex128", "array",  "chan",   "func",          "interface",
    "map",     "ptr",       "slice",      "string", "struct", "unsafe.Pointer"};

}  // namespace

std::string_view kind_name(Kind k) {
  auto i = static_cast<size_t>(k);
  return i < kKindNames.size() ? kKindNames[i] : "invalid";
}

TypeReader::TypeReader(GoRuntime& rt, TypeLimits limits)
    : rt_(rt), limits_(limits), kind_flag_in_tflag_(rt.binary().version().at_least(26)) {
  auto md = rt.binary().moduledata_addr();
  if (!md) {
    problem_ = "the module data was not found: runtime types cannot be located";
    return;
  }
  RemoteAddr base(*md + rt.bias());
  auto types = field(base, Fld::kModuledataTypes);
  auto etypes = field(base, Fld::kModuledataEtypes);
  if (!types || !etypes || *etypes <= *types) {
    problem_ = fmt::format("moduledata.types/etypes at {} unreadable", base);
    return;
  }
  types_ = RemoteRange{RemoteAddr(*types), *etypes - *types};
}

bool TypeReader::read_bytes(RemoteAddr addr, std::span<uint8_t> out) {
  if (rt_.memory().read_exact(addr, out)) return true;
  // A frozen snapshot may lack read-only data the executable file holds; without relocations
  // (not PIE) the file's bytes are the loaded bytes.
  if (rt_.bias() != 0 || addr.value() < rt_.bias()) return false;
  auto b = rt_.binary().elf().file_bytes_at(addr.value(), out.size());
  if (!b || b->size() != out.size()) return false;
  std::copy(b->begin(), b->end(), out.begin());
  return true;
}

std::optional<uint64_t> TypeReader::field(RemoteAddr base, Fld f) {
  auto info = rt_.layout().field(f);
  if (!info || info->size == 0 || info->size > 8) return std::nullopt;
  std::array<uint8_t, 8> buf{};
  if (!read_bytes(base + info->offset, std::span<uint8_t>(buf.data(), info->size)))
    return std::nullopt;
  uint64_t v = 0;
  for (uint64_t i = 0; i < info->size; ++i) v |= uint64_t{buf[i]} << (8 * i);
  return v;
}

std::optional<RuntimeType> TypeReader::read(RemoteAddr addr, std::string* why) {
  auto fail_with = [&](std::string reason) -> std::optional<RuntimeType> {
    if (why != nullptr) *why = std::move(reason);
    return std::nullopt;
  };
  if (auto it = cache_.find(addr.value()); it != cache_.end()) return it->second;
  if (!problem_.empty()) return fail_with(problem_);
  if (!in_type_sections(addr))
    return fail_with(fmt::format("type word {} is outside the module's type sections", addr));
  RuntimeType t;
  t.addr = addr;
  auto size = field(addr, Fld::kTypeSize);
  auto ptrdata = field(addr, Fld::kTypePtrBytes);
  auto hash = field(addr, Fld::kTypeHash);
  auto tflag = field(addr, Fld::kTypeTFlag);
  auto kind = field(addr, Fld::kTypeKind);
  auto gcdata = field(addr, Fld::kTypeGCData);
  auto str = field(addr, Fld::kTypeStr);
  auto ptr_to_this = field(addr, Fld::kTypePtrToThis);
  if (!size || !ptrdata || !hash || !tflag || !kind || !str) {
    return fail_with(fmt::format("type descriptor at {} unreadable: {}", addr,
                                 rt_.memory().why_unreadable(addr, 48)));
  }
  uint8_t k = static_cast<uint8_t>(*kind) & kKindMask;
  if (k == 0 || k > static_cast<uint8_t>(Kind::kUnsafePointer) || *ptrdata > *size)
    return fail_with(fmt::format("type descriptor at {} is implausible (kind {})", addr, *kind));
  t.size = *size;
  t.ptrdata = *ptrdata;
  t.hash = static_cast<uint32_t>(*hash);
  t.tflag = static_cast<uint8_t>(*tflag);
  t.kind = static_cast<Kind>(k);
  t.direct_iface = kind_flag_in_tflag_ ? (t.tflag & kTFlagDirectIface) != 0
                                       : (static_cast<uint8_t>(*kind) & kKindDirectIface) != 0;
  t.gcdata = RemoteAddr(gcdata.value_or(0));
  t.str = static_cast<int32_t>(static_cast<uint32_t>(*str));
  t.ptr_to_this = static_cast<int32_t>(static_cast<uint32_t>(ptr_to_this.value_or(0)));
  if (auto n = name_off(t.str)) {
    t.name = *n;
    if ((t.tflag & kTFlagExtraStar) != 0 && !t.name.empty()) t.name.erase(0, 1);
  }
  cache_.emplace(addr.value(), t);
  return t;
}

std::optional<Itab> TypeReader::itab(RemoteAddr addr, std::string* why) {
  auto inter = field(addr, Fld::kItabInter);
  auto type = field(addr, Fld::kItabType);
  if (!inter || !type) {
    if (why != nullptr)
      *why = fmt::format("itab at {} unreadable: {}", addr, rt_.memory().why_unreadable(addr, 16));
    return std::nullopt;
  }
  return Itab{RemoteAddr(*inter), RemoteAddr(*type)};
}

std::optional<std::string> TypeReader::name_at(RemoteAddr bytes) {
  if (bytes.is_null()) return std::nullopt;
  if (auto it = names_.find(bytes.value()); it != names_.end()) return it->second;
  // flags byte, varint length, the bytes (Go 1.17+).
  std::array<uint8_t, 11> head{};
  size_t got = rt_.memory().read(bytes, head);
  if (got < 2 && !read_bytes(bytes, std::span<uint8_t>(head.data(), 2))) return std::nullopt;
  if (got < 2) got = 2;
  uint64_t len = 0;
  size_t i = 1;
  for (unsigned shift = 0; i < got && shift < 64; ++i, shift += 7) {
    len |= uint64_t{head[i] & 0x7fu} << shift;
    if ((head[i] & 0x80) == 0) break;
  }
  if (i >= got) return std::nullopt;
  len = std::min<uint64_t>(len, limits_.max_name_bytes);
  std::string s(len, '\0');
  if (len != 0 &&
      !read_bytes(bytes + (i + 1), std::span<uint8_t>(reinterpret_cast<uint8_t*>(s.data()), len)))
    return std::nullopt;
  names_.emplace(bytes.value(), s);
  return s;
}

std::optional<std::string> TypeReader::name_off(int32_t off) {
  if (types_.size == 0 || off <= 0 || static_cast<uint64_t>(off) >= types_.size)
    return std::nullopt;
  return name_at(types_.start + static_cast<uint64_t>(off));
}

std::optional<RemoteAddr> TypeReader::type_off(int32_t off) const {
  if (types_.size == 0 || off <= 0 || static_cast<uint64_t>(off) >= types_.size)
    return std::nullopt;
  return types_.start + static_cast<uint64_t>(off);
}

std::optional<RemoteAddr> TypeReader::elem(const RuntimeType& t) {
  Fld f;
  switch (t.kind) {
    case Kind::kPointer:
      f = Fld::kPtrTypeElem;
      break;
    case Kind::kSlice:
      f = Fld::kSliceTypeElem;
      break;
    case Kind::kArray:
      f = Fld::kArrayTypeElem;
      break;
    case Kind::kChan:
      f = Fld::kChanTypeElem;
      break;
    case Kind::kMap:
      f = Fld::kMapTypeElem;
      break;
    default:
      return std::nullopt;
  }
  auto v = field(t.addr, f);
  if (!v || *v == 0) return std::nullopt;
  return RemoteAddr(*v);
}

std::optional<RemoteAddr> TypeReader::key(const RuntimeType& t) {
  if (t.kind != Kind::kMap) return std::nullopt;
  auto v = field(t.addr, Fld::kMapTypeKey);
  if (!v || *v == 0) return std::nullopt;
  return RemoteAddr(*v);
}

std::optional<uint64_t> TypeReader::array_len(const RuntimeType& t) {
  if (t.kind != Kind::kArray) return std::nullopt;
  return field(t.addr, Fld::kArrayTypeLen);
}

std::optional<RemoteAddr> TypeReader::map_group(const RuntimeType& t) {
  if (t.kind != Kind::kMap) return std::nullopt;
  auto v = field(t.addr, Fld::kMapTypeGroup);
  if (!v || *v == 0) return std::nullopt;
  return RemoteAddr(*v);
}

std::optional<uint64_t> TypeReader::chan_dir(const RuntimeType& t) {
  if (t.kind != Kind::kChan) return std::nullopt;
  return field(t.addr, Fld::kChanTypeDir);
}

std::vector<StructFieldDesc> TypeReader::fields(const RuntimeType& t) {
  std::vector<StructFieldDesc> out;
  if (t.kind != Kind::kStruct) return out;
  auto array = field(t.addr, Fld::kStructTypeFields);
  auto len = field(t.addr, Fld::kStructTypeFieldsLen);
  auto stride = type_size(Typ::kStructField);
  if (!array || !len || !stride || *stride == 0) return out;
  uint64_t n = std::min<uint64_t>(*len, limits_.max_fields);
  for (uint64_t i = 0; i < n; ++i) {
    RemoteAddr f(*array + i * *stride);
    auto name = field(f, Fld::kStructFieldName);
    auto typ = field(f, Fld::kStructFieldTyp);
    auto off = field(f, Fld::kStructFieldOffset);
    if (!name || !typ || !off) break;
    StructFieldDesc d;
    d.name = name_at(RemoteAddr(*name)).value_or("?");
    uint8_t flags = 0;
    if (read_bytes(RemoteAddr(*name), std::span<uint8_t>(&flags, 1)))
      d.embedded = (flags & kNameEmbedded) != 0;
    d.type = RemoteAddr(*typ);
    d.offset = *off;
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<MethodDesc> TypeReader::interface_methods(const RuntimeType& t) {
  std::vector<MethodDesc> out;
  if (t.kind != Kind::kInterface) return out;
  auto array = field(t.addr, Fld::kInterfaceTypeMethods);
  auto len = field(t.addr, Fld::kInterfaceTypeMethodsLen);
  auto stride = type_size(Typ::kImethod);
  if (!array || !len || !stride || *stride == 0) return out;
  uint64_t n = std::min<uint64_t>(*len, limits_.max_methods);
  for (uint64_t i = 0; i < n; ++i) {
    RemoteAddr m(*array + i * *stride);
    auto name = field(m, Fld::kImethodName);
    auto typ = field(m, Fld::kImethodTyp);
    if (!name || !typ) break;
    out.push_back(
        {name_off(static_cast<int32_t>(*name)).value_or("?"), static_cast<int32_t>(*typ)});
  }
  return out;
}

std::optional<UncommonDesc> TypeReader::uncommon(const RuntimeType& t) {
  if ((t.tflag & kTFlagUncommon) == 0) return std::nullopt;
  Typ base;
  switch (t.kind) {
    case Kind::kStruct:
      base = Typ::kStructType;
      break;
    case Kind::kPointer:
      base = Typ::kPtrType;
      break;
    case Kind::kFunc:
      base = Typ::kFuncType;
      break;
    case Kind::kSlice:
      base = Typ::kSliceType;
      break;
    case Kind::kArray:
      base = Typ::kArrayType;
      break;
    case Kind::kChan:
      base = Typ::kChanType;
      break;
    case Kind::kMap:
      base = Typ::kMapType;
      break;
    case Kind::kInterface:
      base = Typ::kInterfaceType;
      break;
    default:
      base = Typ::kType;
      break;
  }
  auto size = type_size(base);
  if (!size) return std::nullopt;
  RemoteAddr u = t.addr + *size;
  auto pkg = field(u, Fld::kUncommonTypePkgPath);
  auto mcount = field(u, Fld::kUncommonTypeMcount);
  auto xcount = field(u, Fld::kUncommonTypeXcount);
  auto moff = field(u, Fld::kUncommonTypeMoff);
  if (!pkg || !mcount || !xcount || !moff) return std::nullopt;
  UncommonDesc d;
  d.pkg_path = name_off(static_cast<int32_t>(*pkg)).value_or("");
  d.mcount = static_cast<uint16_t>(*mcount);
  d.xcount = static_cast<uint16_t>(*xcount);
  uint64_t n = std::min<uint64_t>(d.mcount, limits_.max_methods);
  for (uint64_t i = 0; i < n; ++i) {
    std::array<uint8_t, 4> b{};
    if (!read_bytes(u + *moff + i * kMethodSize, b)) break;
    int32_t off = static_cast<int32_t>(load_le<uint32_t>(b.data()));
    d.methods.push_back(name_off(off).value_or("?"));
  }
  return d;
}

std::optional<std::pair<uint16_t, uint16_t>> TypeReader::func_counts(const RuntimeType& t) {
  if (t.kind != Kind::kFunc) return std::nullopt;
  auto in = field(t.addr, Fld::kFuncTypeInCount);
  auto out = field(t.addr, Fld::kFuncTypeOutCount);
  if (!in || !out) return std::nullopt;
  return std::make_pair(static_cast<uint16_t>(*in), static_cast<uint16_t>(*out));
}

}  // namespace ifx
