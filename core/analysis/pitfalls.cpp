// Walks values from their roots (globals, frame variables) and reports every interface whose
// type word is set while its nil-able pointer-shaped value is nil. Each interface slot in target
// memory is reported once, under the first path that reached it (roots are visited sorted).
#include "core/analysis/pitfalls.h"

#include <algorithm>
#include <set>
#include <unordered_set>

namespace ifx {
namespace {

constexpr std::string_view kWhy =
    "the interface is not nil (its type word is set), so `!= nil` is true although the value "
    "inside is nil; calling a method dereferences nil unless the method handles a nil receiver";

struct PairHash {
  size_t operator()(const std::pair<uint64_t, const GoType*>& p) const {
    return std::hash<uint64_t>()(p.first) ^ (std::hash<const void*>()(p.second) << 1);
  }
};

class Walker {
 public:
  Walker(ValueReader& values, const PitfallOptions& opts, report::Pitfalls& out,
         std::set<uint64_t>& reported)
      : values_(values), opts_(opts), out_(out), reported_(reported) {}

  void walk(const GoType* t, RemoteAddr addr, const std::string& path, int depth) {
    if (t == nullptr || depth > opts_.max_depth || budget_exhausted()) return;
    if (!visited_.insert({addr.value(), t}).second) return;
    ++out_.values_visited;
    switch (t->kind) {
      case Kind::kInterface:
        interface(t, addr, path, depth);
        break;
      case Kind::kStruct:
        for (const auto& f : t->fields) {
          if (may_hold_interface(f.type)) walk(f.type, addr + f.offset, path + "." + f.name, depth);
        }
        break;
      case Kind::kArray:
        if (t->elem != nullptr && may_hold_interface(t->elem)) {
          uint64_t n = std::min<uint64_t>(t->len, opts_.max_elements);
          for (uint64_t i = 0; i < n; ++i)
            walk(t->elem, addr + i * t->elem->size, fmt::format("{}[{}]", path, i), depth + 1);
        }
        break;
      case Kind::kSlice: {
        if (t->elem == nullptr || !may_hold_interface(t->elem)) break;
        auto p = values_.read_word(addr);
        auto l = values_.read_word(addr + 8);
        auto c = values_.read_word(addr + 16);
        if (!p || !l || !c || *p == 0 || *l > *c) break;
        uint64_t n = std::min<uint64_t>(*l, opts_.max_elements);
        for (uint64_t i = 0; i < n; ++i) {
          walk(t->elem, RemoteAddr(*p + i * t->elem->size), fmt::format("{}[{}]", path, i),
               depth + 1);
        }
        break;
      }
      case Kind::kPointer: {
        if (t->elem == nullptr || !may_hold_interface(t->elem)) break;
        auto p = values_.read_word(addr);
        if (p && *p != 0) walk(t->elem, RemoteAddr(*p), path, depth + 1);
        break;
      }
      case Kind::kMap: {
        if (t->elem == nullptr || !may_hold_interface(t->elem)) break;
        auto p = values_.read_word(addr);
        if (!p || *p == 0) break;
        std::string why;
        values_.map_entries(
            t, *p, opts_.max_elements,
            [&](RemoteAddr k, RemoteAddr v) {
              std::string key = values_.render(t->key, k, values_.limits().max_depth);
              walk(t->elem, v, fmt::format("{}[{}]", path, key), depth + 1);
            },
            &why);
        if (!why.empty()) warn(fmt::format("{}: map not fully examined: {}", path, why));
        break;
      }
      default:
        break;
    }
  }

 private:
  bool budget_exhausted() {
    if (out_.values_visited < opts_.max_values) return false;
    if (!out_.stopped_at_max_values) {  // once per report, not once per variable
      out_.warnings.push_back(
          fmt::format("stopped after visiting {} values (--max-values): the rest was not examined",
                      opts_.max_values));
      out_.stopped_at_max_values = true;
    }
    return true;
  }

  // At most kMaxWarnings damaged values are named; the rest are counted in the last one.
  void warn(std::string w) {
    constexpr size_t kMaxWarnings = 100;
    if (warned_ < kMaxWarnings) out_.warnings.push_back(std::move(w));
    if (++warned_ == kMaxWarnings + 1) out_.warnings.push_back("more damaged values not listed");
  }

  // Types that cannot contain an interface need no walk (strings, numbers, ...).
  bool may_hold_interface(const GoType* t, int depth = 0) {
    if (t == nullptr || depth > 8) return true;
    if (auto it = memo_.find(t); it != memo_.end()) return it->second;
    memo_[t] = true;  // provisional: recursive types are assumed to
    bool r = true;
    switch (t->kind) {
      case Kind::kInterface:
        r = true;
        break;
      case Kind::kStruct:
        r = std::any_of(t->fields.begin(), t->fields.end(), [&](const GoType::Field& f) {
          return may_hold_interface(f.type, depth + 1);
        });
        break;
      case Kind::kArray:
      case Kind::kSlice:
      case Kind::kPointer:
        r = may_hold_interface(t->elem, depth + 1);
        break;
      case Kind::kMap:
        r = may_hold_interface(t->elem, depth + 1);
        break;
      case Kind::kInvalid:
        r = false;
        break;
      default:
        r = false;
        break;
    }
    memo_[t] = r;
    return r;
  }

  void interface(const GoType* t, RemoteAddr addr, const std::string& path, int depth) {
    InterfaceValue v = values_.interface_value(t, addr);
    if (!v.problem.empty()) warn(fmt::format("{}: interface unreadable: {}", path, v.problem));
    if (v.nil || v.dynamic == nullptr) return;
    if (v.typed_nil()) {
      if (addr.value() < AssembledMemory::kBase && !reported_.insert(addr.value()).second) return;
      report::Pitfall p;
      p.location = path;
      p.interface_type = t->name;
      p.dynamic_type = v.dynamic->name;
      p.address = addr.value() < AssembledMemory::kBase ? addr.value() : 0;
      p.why = std::string(kWhy);
      out_.pitfalls.push_back(std::move(p));
      return;
    }
    walk(v.dynamic, v.value_addr, path, depth + 1);
  }

  ValueReader& values_;
  const PitfallOptions& opts_;
  report::Pitfalls& out_;
  std::set<uint64_t>& reported_;
  std::unordered_set<std::pair<uint64_t, const GoType*>, PairHash> visited_;
  std::unordered_map<const GoType*, bool> memo_;
  size_t warned_ = 0;
};

}  // namespace

report::Pitfalls find_pitfalls(VariableSession& vars, const report::Goroutines& gs,
                               const PitfallOptions& opts) {
  report::Pitfalls out;
  out.go_version = gs.go_version;
  if (!vars.types().problem().empty()) out.warnings.push_back(vars.types().problem());
  if (!vars.no_dwarf().empty()) {
    out.warnings.push_back(vars.no_dwarf() +
                           ": package-level variables and frame variables were not examined; "
                           "no interface value could be located");
    return out;
  }
  std::set<uint64_t> reported;
  {
    Walker w(vars.values(), opts, out, reported);
    for (const ResolvedVariable& g : vars.globals()) {
      if (!opts.runtime_globals &&
          (g.name.starts_with("runtime.") || g.name.starts_with("internal/")))
        continue;
      if (!g.addr || g.type == nullptr) continue;
      ++out.globals_scanned;
      w.walk(g.type, *g.addr, "global " + g.name, 0);
    }
  }
  for (const report::Goroutine& g : gs.goroutines) {
    bool first = true;
    for (const report::Frame& f : g.frames) {
      if (f.inlined) continue;
      bool trapped = first && g.status == "running";
      first = false;
      // The runtime's own frames hold its internals (raw arrays, unions), not user values.
      if (!opts.runtime_globals &&
          (f.function.starts_with("runtime.") || f.function.starts_with("internal/")))
        continue;
      ++out.frames_scanned;
      for (const ResolvedVariable& v : vars.frame_variables(f, trapped)) {
        if (!v.addr || v.type == nullptr) continue;
        ValueReader local(vars.type_system(), v.assembled ? *v.assembled : vars.values().memory(),
                          vars.values().limits());
        Walker w(local, opts, out, reported);
        w.walk(v.type, *v.addr,
               fmt::format("goroutine {} frame {} {} {}", g.goid, f.function,
                           v.arg ? "arg" : "local", v.name),
               0);
      }
    }
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
