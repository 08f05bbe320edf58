// Leak paths named by variable, type and field (see leak_paths.h).
#include "core/analysis/leak_paths.h"

#include <algorithm>

#include "core/analysis/variables.h"
#include "core/values/go_type.h"

namespace ifx {

// What a pointer word leads to, as far as its static type (or the allocation) tells.
struct LeakPathNamer::Ref {
  enum Shape : uint8_t {
    kUnknown,
    kPointer,      // to elem (origin: the pointer, or the allocation's data for from_allocation)
    kSlice,        // backing array of elem
    kMapHeader,    // the header of map `word`
    kMapInternal,  // buckets, groups, directories of map `word`
    kChan,         // an hchan of chan `word`
    kChanBuffer,   // the buffer of a channel, elements of elem
  } shape = kUnknown;
  const GoType* word = nullptr;
  const GoType* elem = nullptr;
  std::string display;  // how a hop shows the type it was reached through
  bool from_allocation = false;
};

struct LeakPathNamer::Global {
  uint64_t addr = 0;  // runtime address
  uint64_t type_die = 0;
  std::string name;
};

namespace {

// hchan.buf is the third word of runtime.hchan in every supported Go version.
constexpr uint64_t kHchanBufOffset = 16;
constexpr int kMaxNesting = 64;

// The type of what lies at `off` inside a value of type t, going down through structs and
// arrays; `path` receives ".field" and "[i]" for each level. Null when nothing is known there.
const GoType* type_at(const GoType* t, uint64_t off, std::string& path) {
  for (int depth = 0; t != nullptr && depth < kMaxNesting; ++depth) {
    if (t->kind == Kind::kInvalid || off >= t->size) return nullptr;
    if (t->kind == Kind::kStruct) {
      const GoType::Field* hit = nullptr;
      for (const auto& f : t->fields) {
        if (f.type != nullptr && f.type->size > 0 && off >= f.offset &&
            off - f.offset < f.type->size) {
          hit = &f;
          break;
        }
      }
      if (hit == nullptr) return nullptr;
      path += "." + hit->name;
      off -= hit->offset;
      t = hit->type;
    } else if (t->kind == Kind::kArray) {
      if (t->elem == nullptr || t->elem->size == 0) return nullptr;
      path += fmt::format("[{}]", off / t->elem->size);
      off %= t->elem->size;
      t = t->elem;
    } else {
      return t;
    }
  }
  return nullptr;
}

// Map groups: classic buckets hold keys[8], elems[8]; swiss groups slots[8]{key, elem}. The part
// of the field path after the key or value, or nullopt when the path is not in one.
std::optional<std::pair<std::string, std::string>> map_slot(const std::string& path) {
  for (const auto& [field, what] : {std::pair{".keys[", "map key"}, {".elems[", "map value"}}) {
    if (path.rfind(field, 0) != 0) continue;
    size_t close = path.find(']');
    if (close == std::string::npos) return std::nullopt;
    return std::pair{std::string(what), path.substr(close + 1)};
  }
  if (path.rfind(".slots[", 0) == 0) {
    size_t close = path.find(']');
    if (close == std::string::npos) return std::nullopt;
    std::string rest = path.substr(close + 1);
    for (const auto& [field, what] : {std::pair{".key", "map key"}, {".elem", "map value"}}) {
      if (rest.rfind(field, 0) == 0 && (rest.size() == std::string_view(field).size() ||
                                        rest[std::string_view(field).size()] == '.' ||
                                        rest[std::string_view(field).size()] == '[')) {
        return std::pair{std::string(what), rest.substr(std::string_view(field).size())};
      }
    }
  }
  return std::nullopt;
}

std::string joined(const std::string& type, const std::string& field) {
  return field.empty() ? type : type + " " + field;
}

}  // namespace

LeakPathNamer::LeakPathNamer(GoRuntime& rt, const report::Goroutines& gs)
    : rt_(rt), gs_(gs), vars_(std::make_unique<VariableSession>(rt, ValueLimits{})) {}

LeakPathNamer::~LeakPathNamer() = default;

std::string LeakPathNamer::fallback(const PathObject& o) const {
  std::string what = fmt::format("object {} ({} bytes)", o.base, o.size);
  if (o.next_slot) what += fmt::format(" +{:#x}", *o.next_slot);
  return what;
}

// The static type of a pointer word (at word_at) says what it leads to.
LeakPathNamer::Ref LeakPathNamer::from_word(const GoType* leaf, RemoteAddr word_at) {
  Ref r;
  if (leaf == nullptr) return r;
  r.word = leaf;
  r.display = leaf->name;
  switch (leaf->kind) {
    case Kind::kPointer:
      r.shape = leaf->elem != nullptr && leaf->elem->size > 0 ? Ref::kPointer : Ref::kUnknown;
      r.elem = leaf->elem;
      break;
    case Kind::kSlice:
      r.shape = leaf->elem != nullptr && leaf->elem->size > 0 ? Ref::kSlice : Ref::kUnknown;
      r.elem = leaf->elem;
      break;
    case Kind::kMap:
      r.shape = Ref::kMapHeader;
      break;
    case Kind::kChan:
      r.shape = Ref::kChan;
      r.elem = leaf->elem;
      break;
    case Kind::kInterface: {
      // The word is the data word; the type word (or itab) precedes it.
      InterfaceValue iv = vars_->values().interface_value(leaf, RemoteAddr(word_at.value() - 8));
      const GoType* d = iv.dynamic;
      if (d == nullptr || d->kind == Kind::kInvalid || d->kind == Kind::kInterface) return Ref{};
      if (d->direct_iface) return from_word(d, word_at);
      r.shape = d->size > 0 ? Ref::kPointer : Ref::kUnknown;  // a boxed copy of the value
      r.elem = d;
      r.display = d->name;
      break;
    }
    default:
      r.shape = Ref::kUnknown;  // unsafe.Pointer, a closure, uintptr: the allocation may tell
      break;
  }
  return r;
}

// Go 1.22+ records the type of allocations above 512 bytes (and of large objects).
LeakPathNamer::Ref LeakPathNamer::from_allocation(const PathObject& o) {
  Ref r;
  if (o.alloc_type.is_null()) return r;
  const GoType* t = vars_->type_system().from_runtime(o.alloc_type);
  if (t == nullptr || t->kind == Kind::kInvalid || t->size == 0 || t->name.empty()) return r;
  r.shape = Ref::kPointer;
  r.elem = t;
  r.display = "*" + t->name;
  r.from_allocation = true;
  return r;
}

LeakPathNamer::Ref LeakPathNamer::root_step(const PathRoot& root, report::PathStep& step) {
  step.what = root.where;
  step.address = root.slot.value();
  if (root.kind == PathRoot::kGlobal) {
    if (!globals_read_) {
      globals_read_ = true;
      if (const DwarfVars* dv = vars_->dwarf_vars()) {
        for (const DwarfGlobal& g : dv->globals()) {
          globals_.push_back({g.addr + rt_.bias(), g.type_die, g.name});
        }
      }
      std::sort(globals_.begin(), globals_.end(),
                [](const Global& a, const Global& b) { return a.addr < b.addr; });
    }
    uint64_t slot = root.slot.value();
    auto it = std::upper_bound(globals_.begin(), globals_.end(), slot,
                               [](uint64_t a, const Global& g) { return a < g.addr; });
    if (it == globals_.begin()) return Ref{};
    // Only the variable at or below the slot is typed (most globals are never on a path).
    const Global& g = *(it - 1);
    const GoType* type = vars_->type_system().from_dwarf(g.type_die);
    if (type == nullptr || type->size == 0 || slot - g.addr >= type->size) return Ref{};
    std::string path;
    const GoType* leaf = type_at(type, slot - g.addr, path);
    step.what = "global " + g.name + path;
    step.type = type->name;
    step.field = path;
    return from_word(leaf, root.slot);
  }
  if (root.kind != PathRoot::kStack || root.goid < 0) return Ref{};
  auto g = std::find_if(gs_.goroutines.begin(), gs_.goroutines.end(),
                        [&](const auto& x) { return x.goid == static_cast<uint64_t>(root.goid); });
  if (g == gs_.goroutines.end()) return Ref{};
  uint64_t sp = root.slot.value() - root.offset;
  bool first = true;
  for (const report::Frame& f : g->frames) {
    if (f.inlined) continue;
    bool trapped = first && g->status == "running";
    first = false;
    if (f.sp != sp) continue;
    for (const ResolvedVariable& v : vars_->frame_variables(f, trapped)) {
      if (!v.addr || v.assembled || v.type == nullptr || v.type->size == 0) continue;
      if (root.slot < *v.addr || root.slot - *v.addr >= v.type->size) continue;
      std::string path;
      const GoType* leaf = type_at(v.type, root.slot - *v.addr, path);
      step.what = fmt::format("goroutine {} frame {} {} {}{}", root.goid, root.name,
                              v.arg ? "arg" : "local", v.name, path);
      step.type = v.type->name;
      step.field = path;
      return from_word(leaf, root.slot);
    }
    break;
  }
  return Ref{};
}

LeakPathNamer::Ref LeakPathNamer::object_step(const Ref& in, const PathObject& o,
                                              report::PathStep& step, bool& shown) {
  shown = true;
  step.address = o.base.value();
  step.what = fallback(o);
  RemoteAddr slot = o.base + *o.next_slot;
  Ref ref = in;
  if (ref.shape == Ref::kUnknown) ref = from_allocation(o);
  switch (ref.shape) {
    case Ref::kPointer:
    case Ref::kSlice:
    case Ref::kChanBuffer: {
      RemoteAddr origin = ref.from_allocation ? o.base + o.data_offset : o.pointer;
      if (slot < origin) return Ref{};
      uint64_t off = slot - origin;
      std::string path;
      if (ref.shape != Ref::kPointer || off >= ref.elem->size) {
        path = fmt::format("[{}]", off / ref.elem->size);
        off %= ref.elem->size;
      }
      const GoType* leaf = type_at(ref.elem, off, path);
      step.type = ref.display;
      step.field = path;
      step.what =
          joined(ref.shape == Ref::kChanBuffer ? ref.display + " buffer" : ref.display, path);
      return from_word(leaf, slot);
    }
    case Ref::kMapHeader: {
      shown = false;
      Ref r = ref;
      r.shape = Ref::kMapInternal;
      return r;
    }
    case Ref::kMapInternal: {
      const GoType* group = ref.word->map_group;
      if (group == nullptr || group->size == 0 || slot < o.pointer) return Ref{};
      std::string path;
      const GoType* leaf = type_at(group, (slot - o.pointer) % group->size, path);
      auto hit = map_slot(path);
      if (!hit) {
        shown = false;  // buckets, overflow, directory, table: the map's own machinery
        return ref;
      }
      step.type = ref.display;
      step.field = joined(hit->first, hit->second);
      step.what = step.field;
      return from_word(leaf, slot);
    }
    case Ref::kChan: {
      if (slot - o.pointer != kHchanBufOffset) return Ref{};
      shown = false;
      Ref r = ref;
      r.shape = ref.elem != nullptr && ref.elem->size > 0 ? Ref::kChanBuffer : Ref::kUnknown;
      return r;
    }
    case Ref::kUnknown:
      break;
  }
  return Ref{};
}

std::vector<report::PathStep> LeakPathNamer::name(const RawPath& path, uint64_t waited,
                                                  const std::string& kind,
                                                  const std::string& elem_type) {
  std::vector<report::PathStep> steps;
  if (path.objects.empty()) return steps;
  report::PathStep root;
  Ref ref = root_step(path.root, root);
  steps.push_back(root);
  for (size_t i = 0; i + 1 < path.objects.size(); ++i) {
    const PathObject& o = path.objects[i];
    report::PathStep step;
    bool shown = true;
    ref = o.next_slot ? object_step(ref, o, step, shown) : Ref{};
    if (!o.next_slot) step = {fallback(o), o.base.value(), "", ""};
    if (shown) steps.push_back(step);
  }
  // The object waited on.
  const PathObject& last = path.objects.back();
  report::PathStep end;
  end.address = waited;
  end.what = kind == "channel" && !elem_type.empty() ? "chan " + elem_type
                                                     : fmt::format("{} {:#x}", kind, waited);
  if (ref.shape == Ref::kUnknown) ref = from_allocation(last);
  if (ref.shape == Ref::kChan) {
    end.what = ref.display;
    end.type = ref.display;
  } else if (ref.shape == Ref::kPointer) {
    RemoteAddr origin = ref.from_allocation ? last.base + last.data_offset : last.pointer;
    if (waited >= origin.value()) {
      std::string field;
      uint64_t off = waited - origin.value();
      if (off >= ref.elem->size) {
        field = fmt::format("[{}]", off / ref.elem->size);
        off %= ref.elem->size;
      }
      type_at(ref.elem, off, field);
      end.what = joined(ref.display, field);
      end.type = ref.display;
      end.field = field;
    }
  }
  steps.push_back(end);
  return steps;
}

}  // namespace ifx
