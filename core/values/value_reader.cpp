// Reads and previews Go values; every count read from the target is bounded before use.
#include "core/values/value_reader.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <unordered_set>

#include "core/runtime/go_runtime.h"
#include "core/values/go_map.h"

namespace ifx {
namespace {

constexpr uint64_t kBucketSlots = 8;  // swiss group slots

const GoType::Field* field_named(const GoType* t, std::string_view name) {
  if (t == nullptr) return nullptr;
  for (const auto& f : t->fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool valid_utf8_at(std::string_view s, size_t i, size_t& len) {
  auto c = static_cast<unsigned char>(s[i]);
  len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
  if (len == 0 || c >= 0xf5 || i + len > s.size()) return false;
  for (size_t k = 1; k < len; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
  }
  return true;
}

}  // namespace

std::string quote_go_string(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\r':
        out += "\\r";
        continue;
      default:
        break;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else if (size_t len = 0; c >= 0x80 && valid_utf8_at(s, i, len)) {
      out.append(s.substr(i, len));
      i += len - 1;
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  out += '"';
  return out;
}

bool InterfaceValue::typed_nil() const {
  if (nil || dynamic == nullptr || !problem.empty()) return false;
  bool nil_able = dynamic->kind == Kind::kPointer || dynamic->kind == Kind::kMap ||
                  dynamic->kind == Kind::kChan || dynamic->kind == Kind::kFunc ||
                  dynamic->kind == Kind::kUnsafePointer;
  return nil_able && dynamic->direct_iface && data_word == 0;
}

ValueReader::ValueReader(TypeSystem& types, Memory& mem, ValueLimits limits)
    : types_(&types), mem_(mem), limits_(limits) {}

ValueReader::ValueReader(Memory& mem, ValueLimits limits)
    : types_(nullptr), mem_(mem), limits_(limits) {}

std::string ValueReader::unreadable(RemoteAddr a, uint64_t size) {
  return fmt::format("<unreadable at {}: {}>", a, mem_.why_unreadable(a, size));
}

InterfaceValue ValueReader::interface_value(const GoType* t, RemoteAddr addr) {
  InterfaceValue v;
  auto w0 = mem_.read_u64(addr);
  auto w1 = mem_.read_u64(addr + 8);
  if (!w0 || !w1) {
    v.problem = fmt::format("unreadable: {}", mem_.why_unreadable(addr, 16));
    return v;
  }
  v.data_word = *w1;
  if (*w0 == 0) {
    v.nil = true;
    return v;
  }
  if (types_ == nullptr) {
    v.problem = "no runtime type descriptors";
    return v;
  }
  RemoteAddr type_addr(*w0);
  if (!t->empty_interface) {
    std::string why;
    auto tab = types_->reader().itab(RemoteAddr(*w0), &why);
    if (!tab) {
      v.problem = why;
      return v;
    }
    type_addr = tab->type;
  }
  const GoType* dyn = types_->from_runtime(type_addr);
  if (dyn->kind == Kind::kInvalid) {
    v.problem = dyn->problem;
    return v;
  }
  v.dynamic = dyn;
  v.value_addr = dyn->direct_iface ? addr + 8 : RemoteAddr(*w1);
  return v;
}

std::string ValueReader::render_string(RemoteAddr addr) {
  auto p = mem_.read_u64(addr);
  auto n = mem_.read_u64(addr + 8);
  if (!p || !n) return unreadable(addr, 16);
  if (*n == 0) return "\"\"";
  if (*p == 0) return fmt::format("<bad string: nil data, len {}>", *n);
  uint64_t shown = std::min<uint64_t>(*n, limits_.max_string);
  std::string bytes(shown, '\0');
  size_t got = mem_.read(RemoteAddr(*p),
                         std::span<uint8_t>(reinterpret_cast<uint8_t*>(bytes.data()), shown));
  if (got < shown) return unreadable(RemoteAddr(*p + got), shown - got);
  std::string out = quote_go_string(bytes);
  if (shown < *n) out += fmt::format("...+{} more", *n - shown);
  return out;
}

std::string ValueReader::render_scalar(const GoType* t, RemoteAddr addr) {
  uint64_t size = std::min<uint64_t>(t->size, 16);
  std::array<uint8_t, 16> b{};
  if (size == 0) return "{}";
  if (!mem_.read_exact(addr, std::span<uint8_t>(b.data(), size))) return unreadable(addr, size);
  uint64_t u = 0;
  std::memcpy(&u, b.data(), std::min<uint64_t>(size, 8));
  auto sext = [&](uint64_t v) {
    unsigned bits = static_cast<unsigned>(size * 8);
    if (bits < 64 && (v >> (bits - 1)) != 0) v |= ~uint64_t{0} << bits;
    return static_cast<int64_t>(v);
  };
  switch (t->kind) {
    case Kind::kBool:
      return u != 0 ? "true" : "false";
    case Kind::kInt:
    case Kind::kInt8:
    case Kind::kInt16:
    case Kind::kInt32:
    case Kind::kInt64:
      return fmt::format("{}", sext(u));
    case Kind::kUint:
    case Kind::kUint8:
    case Kind::kUint16:
    case Kind::kUint32:
    case Kind::kUint64:
      return fmt::format("{}", u);
    case Kind::kUintptr:
      return fmt::format("{:#x}", u);
    case Kind::kFloat32: {
      float f = 0;
      std::memcpy(&f, b.data(), 4);
      return fmt::format("{}", f);
    }
    case Kind::kFloat64: {
      double d = 0;
      std::memcpy(&d, b.data(), 8);
      return fmt::format("{}", d);
    }
    case Kind::kComplex64: {
      float re = 0, im = 0;
      std::memcpy(&re, b.data(), 4);
      std::memcpy(&im, b.data() + 4, 4);
      return fmt::format("({}{:+}i)", re, im);
    }
    case Kind::kComplex128: {
      double re = 0, im = 0;
      std::memcpy(&re, b.data(), 8);
      std::memcpy(&im, b.data() + 8, 8);
      return fmt::format("({}{:+}i)", re, im);
    }
    default:
      return "?";
  }
}

std::string ValueReader::render(const GoType* t, RemoteAddr addr, int depth) {
  if (t == nullptr || (t->kind == Kind::kInvalid && !t->problem.empty()))
    return fmt::format("<type unknown: {}>", t != nullptr ? t->problem : "none");
  switch (t->kind) {
    case Kind::kString:
      return render_string(addr);
    case Kind::kInterface: {
      InterfaceValue v = interface_value(t, addr);
      if (!v.problem.empty()) return fmt::format("{}(<unreadable: {}>)", t->name, v.problem);
      if (v.nil) return fmt::format("{} nil", t->name);
      std::string inner =
          depth > limits_.max_depth ? "..." : render(v.dynamic, v.value_addr, depth + 1);
      return fmt::format("{}({}) {}", t->name, v.dynamic->name, inner);
    }
    case Kind::kPointer:
    case Kind::kUnsafePointer:
    case Kind::kChan:
    case Kind::kFunc: {
      auto p = mem_.read_u64(addr);
      if (!p) return unreadable(addr, 8);
      if (*p == 0) return "nil";
      std::string out = fmt::format("{:#x}", *p);
      if (t->kind == Kind::kPointer && t->elem != nullptr && depth < limits_.max_depth &&
          (t->elem->kind == Kind::kStruct || t->elem->kind == Kind::kArray)) {
        out += " " + render(t->elem, RemoteAddr(*p), depth + 1);
      }
      return out;
    }
    case Kind::kStruct: {
      if (depth > limits_.max_depth) return "{...}";
      std::string out = "{";
      size_t n = 0;
      for (const auto& f : t->fields) {
        if (n == limits_.max_elements) {
          out += ", ...";
          break;
        }
        if (n++ != 0) out += ", ";
        out += f.name + ": " + render(f.type, addr + f.offset, depth + 1);
      }
      return out + "}";
    }
    case Kind::kArray:
    case Kind::kSlice: {
      uint64_t len = t->len;
      RemoteAddr base = addr;
      std::string out;
      if (t->kind == Kind::kSlice) {
        auto p = mem_.read_u64(addr);
        auto l = mem_.read_u64(addr + 8);
        auto c = mem_.read_u64(addr + 16);
        if (!p || !l || !c) return unreadable(addr, 24);
        if (*p == 0 && *l == 0) return "[]";
        if (*l > *c) return fmt::format("<bad slice: len {} > cap {}>", *l, *c);
        len = *l;
        base = RemoteAddr(*p);
        out = fmt::format("len: {}, cap: {}, ", *l, *c);
      }
      if (depth > limits_.max_depth) return out + "[...]";
      out += "[";
      uint64_t stride = t->elem != nullptr ? t->elem->size : 0;
      uint64_t shown = std::min<uint64_t>(len, limits_.max_elements);
      for (uint64_t i = 0; i < shown; ++i) {
        if (i != 0) out += ", ";
        out += render(t->elem, base + i * stride, depth + 1);
      }
      if (shown < len) out += fmt::format(", ...+{} more", len - shown);
      return out + "]";
    }
    case Kind::kMap: {
      auto p = mem_.read_u64(addr);
      if (!p) return unreadable(addr, 8);
      if (*p == 0) return "map[] (nil)";
      if (depth > limits_.max_depth) return "map[...]";
      std::string out = "map[";
      size_t n = 0;
      std::string why;
      map_entries(
          t, *p, limits_.max_elements,
          [&](RemoteAddr k, RemoteAddr v) {
            if (n++ != 0) out += ", ";
            out += render(t->key, k, depth + 1) + ": " + render(t->elem, v, depth + 1);
          },
          &why);
      auto len = map_len(*p);
      if (len && *len > n) out += fmt::format("{}...+{} more", n != 0 ? ", " : "", *len - n);
      out += "]";
      if (!why.empty()) out += fmt::format(" <{}>", why);
      return out;
    }
    default:
      return render_scalar(t, addr);
  }
}

bool ValueReader::chan_elements(const GoType* chan, uint64_t hchan, size_t max,
                                const std::function<void(RemoteAddr)>& f, std::string* why) {
  constexpr uint64_t kMaxChanBuffer = uint64_t{1} << 40;  // bytes: makechan's maxAlloc bound
  if (types_ == nullptr || chan->elem == nullptr) {
    *why = "no runtime type descriptors";
    return false;
  }
  const Layout& layout = types_->reader().runtime().layout();
  auto qf = layout.field(Fld::kHchanQcount), df = layout.field(Fld::kHchanDataqsiz),
       bf = layout.field(Fld::kHchanBuf), rf = layout.field(Fld::kHchanRecvx);
  if (!qf || !df || !bf || !rf) {
    *why = "channel layout unknown for this Go version";
    return false;
  }
  auto qcount = mem_.read_u64(RemoteAddr(hchan + qf->offset));
  auto size = mem_.read_u64(RemoteAddr(hchan + df->offset));
  auto buf = mem_.read_u64(RemoteAddr(hchan + bf->offset));
  auto recvx = mem_.read_u64(RemoteAddr(hchan + rf->offset));
  if (!qcount || !size || !buf || !recvx) {
    *why = fmt::format("channel unreadable: {}", mem_.why_unreadable(RemoteAddr(hchan), 64));
    return false;
  }
  uint64_t stride = chan->elem->size;
  if (*qcount == 0 || stride == 0) return true;
  if (*qcount > *size || *recvx >= *size || *size > kMaxChanBuffer / stride) {
    *why = fmt::format("implausible channel (qcount {}, dataqsiz {}, recvx {})", *qcount, *size,
                       *recvx);
    return false;
  }
  uint64_t n = std::min<uint64_t>(*qcount, max);
  for (uint64_t i = 0; i < n; ++i) f(RemoteAddr(*buf + ((*recvx + i) % *size) * stride));
  return true;
}

std::optional<uint64_t> ValueReader::map_len(uint64_t map_ptr) {
  // Both layouts keep the count in the first word (hmap.count int, maps.Map.used uint64).
  return mem_.read_u64(RemoteAddr(map_ptr));
}

bool ValueReader::map_entries(const GoType* map, uint64_t map_ptr, size_t max,
                              const std::function<void(RemoteAddr, RemoteAddr)>& f,
                              std::string* why) {
  if (types_ == nullptr) {
    *why = "no runtime type descriptors";
    return false;
  }
  const Layout& layout = types_->reader().runtime().layout();
  if (map->map_group == nullptr) {
    *why = "map layout unknown (no bucket/group type)";
    return false;
  }
  if (layout.field(Fld::kSwissMapDirPtr)) return walk_swiss(map, map_ptr, max, f, why);
  if (layout.field(Fld::kHmapBuckets)) return walk_classic(map, map_ptr, max, f, why);
  *why = "map layout unknown for this Go version";
  return false;
}

namespace {

// Where keys and elements of slot i lie inside a bucket/group, as the group type describes it:
// classic {topbits, keys, elems, overflow}; swiss {ctrl, slots [8]{key, elem}} or
// {ctrl, keys, elems}. Keys or elements larger than 128 bytes are stored as pointers.
struct SlotLayout {
  uint64_t keys = 0, key_stride = 0, elems = 0, elem_stride = 0;
  bool key_indirect = false, elem_indirect = false;
  bool ok = false;
};

SlotLayout slot_layout(const GoType* map) {
  SlotLayout s;
  const GoType* g = map->map_group;
  auto indirect = [](const GoType* slot, const GoType* want) {
    return slot != nullptr && want != nullptr && slot != want && slot->kind == Kind::kPointer &&
           want->kind != Kind::kPointer;
  };
  if (const auto* slots = field_named(g, "slots"); slots != nullptr && slots->type->elem) {
    const GoType* slot = slots->type->elem;
    const auto* k = field_named(slot, "key");
    const auto* e = field_named(slot, "elem");
    if (k == nullptr || e == nullptr) return s;
    s.keys = slots->offset + k->offset;
    s.elems = slots->offset + e->offset;
    s.key_stride = s.elem_stride = slot->size;
    s.key_indirect = indirect(k->type, map->key);
    s.elem_indirect = indirect(e->type, map->elem);
  } else {
    const auto* k = field_named(g, "keys");
    const auto* e = field_named(g, "elems");
    if (k == nullptr || e == nullptr || k->type->elem == nullptr || e->type->elem == nullptr)
      return s;
    s.keys = k->offset;
    s.elems = e->offset;
    s.key_stride = k->type->elem->size;
    s.elem_stride = e->type->elem->size;
    s.key_indirect = indirect(k->type->elem, map->key);
    s.elem_indirect = indirect(e->type->elem, map->elem);
  }
  s.ok = true;
  return s;
}

}  // namespace

bool ValueReader::group_entries(const GoType* group, uint64_t base, uint64_t n, size_t max,
                                const GroupEntryFn& f, std::string* why) {
  constexpr uint8_t kMinTopHash = 5;  // classic: below it a slot is empty or evacuated
  constexpr uint64_t kMaxChain = 1024;
  GoType m;  // the map type the group belongs to, as far as slot_layout needs it
  m.kind = Kind::kMap;
  m.map_group = group;
  const GoType::Field* ctrl = field_named(group, "ctrl");
  const GoType::Field* topbits = field_named(group, "topbits");
  const GoType::Field* overflow = field_named(group, "overflow");
  if (const auto* slots = field_named(group, "slots"); slots != nullptr && slots->type->elem) {
    const auto* k = field_named(slots->type->elem, "key");
    const auto* e = field_named(slots->type->elem, "elem");
    if (k != nullptr && e != nullptr) {
      m.key = k->type;
      m.elem = e->type;
    }
  } else if (const auto* k = field_named(group, "keys"), *e = field_named(group, "elems");
             k != nullptr && e != nullptr) {
    m.key = k->type->elem;
    m.elem = e->type->elem;
  }
  SlotLayout s = slot_layout(&m);
  bool swiss = ctrl != nullptr;
  if (!s.ok || m.key == nullptr || m.elem == nullptr || (!swiss && topbits == nullptr) ||
      group->size == 0) {
    *why = fmt::format("map group type {} not understood", group->name);
    return false;
  }
  size_t seen = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t b = base + i * group->size;
    for (uint64_t chain = 0; b != 0 && chain < kMaxChain; ++chain) {
      std::array<uint8_t, kBucketSlots> live{};
      if (!mem_.read_exact(RemoteAddr(b + (swiss ? ctrl->offset : topbits->offset)), live)) {
        *why = fmt::format("map group unreadable: {}", mem_.why_unreadable(RemoteAddr(b), 8));
        return false;
      }
      for (uint64_t j = 0; j < kBucketSlots; ++j) {
        if (swiss ? (live[j] & 0x80) != 0 : live[j] < kMinTopHash) continue;
        if (seen++ >= max) return true;
        f(m.key, RemoteAddr(b + s.keys + j * s.key_stride), m.elem,
          RemoteAddr(b + s.elems + j * s.elem_stride));
      }
      if (swiss || overflow == nullptr) break;
      b = mem_.read_u64(RemoteAddr(b + overflow->offset)).value_or(0);
    }
  }
  return true;
}

// The classic layout is walked by go_map (the walker labels and pprof labels use too), with the
// bucket layout the map's own bucket type describes and the hmap offsets of this version.
bool ValueReader::walk_classic(const GoType* map, uint64_t h, size_t max,
                               const std::function<void(RemoteAddr, RemoteAddr)>& f,
                               std::string* why) {
  const Layout& layout = types_->reader().runtime().layout();
  SlotLayout s = slot_layout(map);
  const auto* overflow = field_named(map->map_group, "overflow");
  auto count = layout.field(Fld::kHmapCount);
  auto log2 = layout.field(Fld::kHmapB);
  auto buckets = layout.field(Fld::kHmapBuckets);
  auto old = layout.field(Fld::kHmapOldbuckets);
  if (!s.ok || overflow == nullptr || !count || !log2 || !buckets || !old || log2->offset == 0) {
    *why = "bucket layout not understood";
    return false;
  }
  GoMapBucketLayout b;
  b.key_slot = s.key_stride;
  b.value_slot = s.elem_stride;
  b.key_indirect = s.key_indirect;
  b.value_indirect = s.elem_indirect;
  b.keys_offset = s.keys;
  b.values_offset = s.elems;
  b.overflow_offset = overflow->offset;
  b.bucket_size = map->map_group->size;
  GoHmapLayout hl;
  hl.count = count->offset;
  hl.flags = log2->offset - 1;  // flags uint8 precedes B uint8 in every version
  hl.log2_buckets = log2->offset;
  hl.buckets = buckets->offset;
  hl.oldbuckets = old->offset;
  hl.size = std::max({hl.count, hl.buckets, hl.oldbuckets}) + 8;
  GoMapContents c = read_go_map(mem_, RemoteAddr(h), b, max, hl);
  for (const GoMapEntry& e : c.entries) f(e.key, e.value);
  if (!c.error.empty()) {
    *why = c.error;
    return false;
  }
  return true;
}

bool ValueReader::walk_swiss(const GoType* map, uint64_t m, size_t max,
                             const std::function<void(RemoteAddr, RemoteAddr)>& f,
                             std::string* why) {
  const Layout& layout = types_->reader().runtime().layout();
  SlotLayout s = slot_layout(map);
  const auto* ctrl = field_named(map->map_group, "ctrl");
  auto data_f = layout.field(Fld::kSwissTableGroupsData);
  auto mask_f = layout.field(Fld::kSwissTableGroupsLengthMask);
  if (!s.ok || ctrl == nullptr || !data_f || !mask_f) {
    *why = "group layout not understood";
    return false;
  }
  auto dir_ptr = mem_.read_u64(RemoteAddr(m + layout.field(Fld::kSwissMapDirPtr)->offset));
  auto dir_len = mem_.read_u64(RemoteAddr(m + layout.field(Fld::kSwissMapDirLen)->offset));
  if (!dir_ptr || !dir_len) {
    *why = fmt::format("map header unreadable: {}", mem_.why_unreadable(RemoteAddr(m), 48));
    return false;
  }
  size_t seen = 0;
  uint64_t visited = 0;
  uint64_t gsize = map->map_group->size;
  auto walk_groups = [&](uint64_t data, uint64_t n) -> bool {
    for (uint64_t i = 0; i < n; ++i) {
      if (++visited > limits_.max_map_buckets) {
        *why = "too many groups: stopped";
        return false;
      }
      uint64_t g = data + i * gsize;
      auto c = mem_.read_u64(RemoteAddr(g + ctrl->offset));
      if (!c) {
        *why = fmt::format("group unreadable: {}", mem_.why_unreadable(RemoteAddr(g), 8));
        return false;
      }
      for (uint64_t j = 0; j < kBucketSlots; ++j) {
        if (((*c >> (8 * j)) & 0x80) != 0) continue;  // empty or deleted
        if (seen++ >= max) return true;
        RemoteAddr k(g + s.keys + j * s.key_stride), e(g + s.elems + j * s.elem_stride);
        if (s.key_indirect) k = RemoteAddr(mem_.read_u64(k).value_or(0));
        if (s.elem_indirect) e = RemoteAddr(mem_.read_u64(e).value_or(0));
        f(k, e);
      }
    }
    return true;
  };
  if (*dir_ptr == 0) return true;
  if (*dir_len == 0) return walk_groups(*dir_ptr, 1);
  if (*dir_len > limits_.max_map_buckets) {
    *why = fmt::format("implausible map directory (len {})", *dir_len);
    return false;
  }
  std::unordered_set<uint64_t> tables;
  for (uint64_t i = 0; i < *dir_len; ++i) {
    auto t = mem_.read_u64(RemoteAddr(*dir_ptr + i * 8));
    if (!t) {
      *why = "map directory unreadable";
      return false;
    }
    if (*t == 0 || !tables.insert(*t).second) continue;
    auto data = mem_.read_u64(RemoteAddr(*t + data_f->offset));
    auto mask = mem_.read_u64(RemoteAddr(*t + mask_f->offset));
    if (!data || !mask || *mask >= limits_.max_map_buckets) {
      *why = "map table unreadable or implausible";
      return false;
    }
    if (!walk_groups(*data, *mask + 1)) return false;
  }
  return true;
}

}  // namespace ifx
