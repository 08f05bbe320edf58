// The roots of `pitfalls`, visited in a stable order with one walker (typed_nil_walk): with
// DWARF, package-level variables then each goroutine's frame variables; without, the heap
// objects whose type the runtime records, by address.
#include "core/analysis/pitfalls.h"

#include <algorithm>
#include <unordered_set>

#include "core/analysis/typed_nil_walk.h"

namespace ifx {
namespace {

bool runtime_internal(std::string_view type_name) {
  size_t i = type_name.find_first_not_of("*[]0123456789");
  if (i == std::string_view::npos) return false;
  std::string_view n = type_name.substr(i);
  // Map buckets and groups (map.bucket[K]V, map.group[K]V) are walked through their maps, which
  // know which slots are live.
  return n.starts_with("runtime.") || n.starts_with("internal/") || n.starts_with("noalg.");
}

// The compiler's map bucket (classic) and group (swiss) types: map.bucket[K]V, map.group[K]V.
bool map_group_type(std::string_view type_name) {
  return type_name.starts_with("map.bucket[") || type_name.starts_with("map.group[");
}

void search_globals(VariableSession& vars, TypedNilWalker& w, const PitfallOptions& opts,
                    report::Pitfalls& out) {
  for (const ResolvedVariable& g : vars.globals()) {
    if (!opts.runtime_globals &&
        (g.name.starts_with("runtime.") || g.name.starts_with("internal/")))
      continue;
    if (!g.addr || g.type == nullptr) continue;
    ++out.globals_scanned;
    w.walk_root(vars.values(), g.type, *g.addr, "global " + g.name);
  }
}

void search_frames(VariableSession& vars, const report::Goroutines& gs, TypedNilWalker& w,
                   const PitfallOptions& opts, report::Pitfalls& out) {
  // The runtime's own frames hold its internals (raw arrays, unions), not user values.
  auto internal = [&](const std::string& fn) {
    return !opts.runtime_globals && (fn.starts_with("runtime.") || fn.starts_with("internal/"));
  };
  for (const report::Goroutine& g : gs.goroutines) {
    bool first = true;
    for (size_t i = 0; i < g.frames.size(); ++i) {
      const report::Frame& f = g.frames[i];
      if (f.inlined) continue;
      bool trapped = first && g.status == "running";
      first = false;
      bool inlines_user = i > 0 && g.frames[i - 1].inlined && !internal(g.frames[i - 1].function);
      if (internal(f.function) && !inlines_user) continue;
      if (w.budget_exhausted()) return;
      ++out.frames_scanned;
      const user_regs_struct* regs = trapped ? vars.thread_registers(g, f) : nullptr;
      for (const ResolvedVariable& v : vars.frame_variables(f, trapped, regs)) {
        if (!v.addr || v.type == nullptr || !w.may_hold_interface(v.type)) continue;
        size_t k = frame_of_variable(g.frames, i, v);
        const report::Frame& at = g.frames[k];
        if (internal(at.function) || (k == i && v.inline_depth > 0)) continue;
        ValueReader local(vars.type_system(), v.assembled ? *v.assembled : vars.values().memory(),
                          vars.values().limits());
        w.walk_root(local, v.type, *v.addr,
                    fmt::format("goroutine {} frame {}{} {} {}", g.goid, at.function,
                                at.inlined ? " (inlined)" : "", v.arg ? "arg" : "local", v.name));
      }
    }
  }
}

// Heap objects whose type the runtime records are roots of their own; pointers into them are
// not followed from elsewhere, so what lies in them is named after them.
void search_typed_heap(VariableSession& vars, const HeapIndex& heap, TypedNilWalker& w,
                       const PitfallOptions& opts, report::Pitfalls& out) {
  struct Root {
    HeapObject obj;
    HeapIndex::RecordedType rec;
    const GoType* type;
  };
  std::vector<Root> roots;
  std::unordered_set<uint64_t> bases;
  uint64_t untyped = 0;
  heap.for_each_object([&](const HeapObject& o) {
    auto rec = heap.recorded_type(o);
    if (!rec) return;
    const GoType* t = vars.type_system().from_runtime(rec->type);
    if (t->kind == Kind::kInvalid || t->size == 0 || t->size > rec->bytes) {
      ++untyped;  // e.g. a type made by reflect, outside the type sections
      return;
    }
    if (!opts.runtime_globals && runtime_internal(t->name)) return;
    if (!w.may_hold_interface(t)) return;
    roots.push_back({o, *rec, t});
    bases.insert(o.base.value());
  });
  // Bucket arrays last: entries of a map that a typed object holds are named after that object.
  std::stable_partition(roots.begin(), roots.end(),
                        [](const Root& r) { return !map_group_type(r.type->name); });
  if (untyped != 0) {
    out.warnings.push_back(
        fmt::format("{} heap objects record a type that could not be read: not searched", untyped));
  }
  w.set_stop([&](uint64_t addr) {
    auto o = heap.object_at(RemoteAddr(addr));
    return o && bases.contains(o->base.value());
  });
  for (const Root& r : roots) {
    if (w.budget_exhausted()) break;
    ++out.heap_objects_scanned;
    uint64_t n = r.rec.bytes / r.type->size;
    if (map_group_type(r.type->name)) {
      std::string map = r.type->name.substr(r.type->name.find('['));
      w.walk_map_groups(vars.values(), r.type, r.rec.data.value(), n,
                        fmt::format("map buckets {:#x} (map{}) ", r.rec.data.value(), map));
      continue;
    }
    std::string path = fmt::format("heap object {:#x} ({}) ", r.rec.data.value(), r.type->name);
    if (n == 1) {
      w.walk_root(vars.values(), r.type, r.rec.data, path);
      continue;
    }
    for (uint64_t i = 0; i < n && i < opts.max_elements; ++i) {
      w.walk_root(vars.values(), r.type, r.rec.data + i * r.type->size,
                  fmt::format("{}[{}]", path, i));
    }
  }
  w.set_stop(nullptr);
}

// Channels that goroutines wait on carry their element type (hchan.elemtype): their queued
// values are searched, in every Go version.
void search_waited_channels(VariableSession& vars, const BlockingSnapshot& blocking,
                            TypedNilWalker& w, report::Pitfalls& out) {
  for (const auto& [addr, ch] : blocking.channels) {
    if (!ch.error.empty() || ch.elemtype.is_null() || ch.qcount == 0) continue;
    const GoType* elem = vars.type_system().from_runtime(ch.elemtype);
    if (elem->kind == Kind::kInvalid || !w.may_hold_interface(elem)) continue;
    ++out.channels_scanned;
    w.walk_channel(vars.values(), elem, addr.value(),
                   fmt::format("channel {:#x} (chan {})", addr.value(), elem->name));
  }
}

std::string stripped_warning(VariableSession& vars, const HeapIndex* heap,
                             const BlockingSnapshot* blocking, int go_minor) {
  std::string w = vars.no_dwarf() +
                  ": package-level variables and goroutine frames were not searched (no "
                  "variables without DWARF)";
  std::string chans = blocking != nullptr ? "the values queued in channels goroutines wait on" : "";
  if (heap != nullptr && go_minor <= 21) {
    w += fmt::format(
        "; Go 1.{} records no type for heap objects (allocation headers came in Go 1.22): heap "
        "objects not searched",
        go_minor);
    heap = nullptr;
  }
  if (heap == nullptr && chans.empty()) return w + "; no interface value could be located";
  w += "; searched: ";
  if (heap != nullptr) {
    w += "the heap objects whose type the runtime records (objects over 512 bytes that hold "
         "pointers, large objects)";
    if (!chans.empty()) w += ", ";
  }
  return w + chans +
         ", and what their types reach; not searched: globals, frames, and what only they reach";
}

}  // namespace

report::Pitfalls find_pitfalls(VariableSession& vars, const report::Goroutines& gs,
                               const PitfallOptions& opts, const HeapIndex* heap,
                               const BlockingSnapshot* blocking) {
  report::Pitfalls out;
  out.go_version = gs.go_version;
  if (!vars.types().problem().empty()) out.warnings.push_back(vars.types().problem());
  TypedNilWalker w(opts, out);
  if (!vars.no_dwarf().empty()) {
    int minor = vars.types().runtime().binary().version().minor;
    out.warnings.push_back(stripped_warning(vars, heap, blocking, minor));
    if (heap != nullptr && minor > 21) search_typed_heap(vars, *heap, w, opts, out);
    if (blocking != nullptr) search_waited_channels(vars, *blocking, w, out);
  } else {
    search_globals(vars, w, opts, out);
    search_frames(vars, gs, w, opts, out);
  }
  std::sort(
      out.pitfalls.begin(), out.pitfalls.end(),
      [](const report::Pitfall& a, const report::Pitfall& b) { return a.location < b.location; });
  out.pitfalls.erase(std::unique(out.pitfalls.begin(), out.pitfalls.end(),
                                 [](const report::Pitfall& a, const report::Pitfall& b) {
                                   return a.location == b.location;
                                 }),
                     out.pitfalls.end());
  return out;
}

}  // namespace ifx
