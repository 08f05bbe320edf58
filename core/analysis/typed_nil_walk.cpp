// Walks values and reports interfaces whose type word is set while their nil-able pointer-shaped
// value is nil. Each interface slot in target memory is reported once, under the first path that
// reached it (the caller visits roots in a stable order).
#include "core/analysis/typed_nil_walk.h"

#include <algorithm>

#include "core/analysis/pitfalls.h"
#include "core/analysis/variables.h"

namespace ifx {
namespace {

constexpr std::string_view kWhy =
    "the interface is not nil (its type word is set), so `!= nil` is true although the value "
    "inside is nil; calling a method dereferences nil unless the method handles a nil receiver";

bool synthetic(RemoteAddr a) {
  return a.value() >= AssembledMemory::kBase;
}

}  // namespace

TypedNilWalker::TypedNilWalker(const PitfallOptions& opts, report::Pitfalls& out)
    : opts_(opts), out_(out) {}

void TypedNilWalker::walk_root(ValueReader& values, const GoType* t, RemoteAddr addr,
                               std::string path) {
  values_ = &values;
  path_ = std::move(path);
  // The root itself is examined even when another root was the same memory (two variables of a
  // frame sharing a stack slot); what it reaches is not walked twice.
  if (!synthetic(addr)) {
    auto it = visited_.find(Key{addr.value(), t});
    if (it != visited_.end() && it->second == 0 && t->kind == Kind::kInterface &&
        !budget_exhausted()) {
      ++out_.values_visited;
      interface(t, addr, 0);
      values_ = nullptr;
      return;
    }
  }
  walk(t, addr, 0);
  values_ = nullptr;
}

bool TypedNilWalker::budget_exhausted() {
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
void TypedNilWalker::warn(std::string w) {
  constexpr size_t kMaxWarnings = 100;
  if (warned_ < kMaxWarnings) out_.warnings.push_back(std::move(w));
  if (++warned_ == kMaxWarnings + 1) out_.warnings.push_back("more damaged values not listed");
}

bool TypedNilWalker::may_hold_interface(const GoType* t, int depth) {
  if (t == nullptr || depth > 8) return true;
  if (auto it = memo_.find(t); it != memo_.end()) return it->second;
  memo_[t] = true;  // provisional: recursive types are assumed to
  bool r = false;
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
    case Kind::kMap:
    case Kind::kChan:
      r = may_hold_interface(t->elem, depth + 1);
      break;
    default:
      break;
  }
  memo_[t] = r;
  return r;
}

void TypedNilWalker::walk(const GoType* t, RemoteAddr addr, int depth) {
  if (t == nullptr || depth > opts_.max_depth || budget_exhausted()) return;
  if (!synthetic(addr)) {
    auto [it, fresh] = visited_.try_emplace(Key{addr.value(), t}, depth);
    if (!fresh) {
      if (it->second <= depth) return;
      it->second = depth;
    }
  }
  ++out_.values_visited;
  switch (t->kind) {
    case Kind::kInterface:
      interface(t, addr, depth);
      break;
    case Kind::kStruct:
      for (const auto& f : t->fields) {
        if (!may_hold_interface(f.type)) continue;
        Suffix s(path_, "." + f.name);
        walk(f.type, addr + f.offset, depth);
      }
      break;
    case Kind::kArray:
      if (t->elem != nullptr && may_hold_interface(t->elem))
        elements(t->elem, addr.value(), t->len, depth);
      break;
    case Kind::kSlice: {
      if (t->elem == nullptr || !may_hold_interface(t->elem)) break;
      auto p = values_->read_word(addr);
      auto l = values_->read_word(addr + 8);
      auto c = values_->read_word(addr + 16);
      if (!p || !l || !c || *p == 0 || *l > *c) break;
      if (stop_ && stop_(*p)) break;
      elements(t->elem, *p, *l, depth);
      break;
    }
    case Kind::kPointer: {
      if (t->elem == nullptr || !may_hold_interface(t->elem)) break;
      auto p = values_->read_word(addr);
      if (p && *p != 0) follow(t->elem, *p, depth + 1);
      break;
    }
    case Kind::kMap:
      if (t->elem != nullptr && may_hold_interface(t->elem)) map_values(t, addr, depth);
      break;
    case Kind::kChan:
      if (t->elem != nullptr && may_hold_interface(t->elem)) chan_buffer(t, addr, depth);
      break;
    default:
      break;
  }
}

void TypedNilWalker::follow(const GoType* t, uint64_t target, int depth) {
  if (stop_ && stop_(target)) return;
  walk(t, RemoteAddr(target), depth);
}

void TypedNilWalker::elements(const GoType* elem, uint64_t base, uint64_t n, int depth) {
  n = std::min<uint64_t>(n, opts_.max_elements);
  for (uint64_t i = 0; i < n; ++i) {
    Suffix s(path_, fmt::format("[{}]", i));
    walk(elem, RemoteAddr(base + i * elem->size), depth + 1);
  }
}

void TypedNilWalker::map_values(const GoType* t, RemoteAddr addr, int depth) {
  auto p = values_->read_word(addr);
  if (!p || *p == 0 || (stop_ && stop_(*p))) return;
  std::string why;
  values_->map_entries(
      t, *p, opts_.max_elements,
      [&](RemoteAddr k, RemoteAddr v) {
        Suffix s(path_,
                 fmt::format("[{}]", values_->render(t->key, k, values_->limits().max_depth)));
        walk(t->elem, v, depth + 1);
      },
      &why);
  if (!why.empty()) warn(fmt::format("{}: map not fully examined: {}", path_, why));
}

void TypedNilWalker::walk_channel(ValueReader& values, const GoType* elem, uint64_t hchan,
                                  std::string path) {
  if (budget_exhausted()) return;
  GoType chan;  // only its element type is read
  chan.kind = Kind::kChan;
  chan.size = 8;
  chan.elem = elem;
  values_ = &values;
  path_ = std::move(path);
  queued(&chan, hchan, 0);
  values_ = nullptr;
}

void TypedNilWalker::walk_map_groups(ValueReader& values, const GoType* group, uint64_t base,
                                     uint64_t n, std::string path) {
  if (budget_exhausted()) return;
  values_ = &values;
  path_ = std::move(path);
  std::string why;
  values.group_entries(
      group, base, n, opts_.max_elements,
      [&](const GoType* key, RemoteAddr k, const GoType* elem, RemoteAddr e) {
        if (!may_hold_interface(elem)) return;
        Suffix s(path_, fmt::format("[{}]", values.render(key, k, values.limits().max_depth)));
        walk(elem, e, 1);
      },
      &why);
  if (!why.empty()) warn(fmt::format("{}: map buckets not fully examined: {}", path_, why));
  values_ = nullptr;
}

void TypedNilWalker::chan_buffer(const GoType* t, RemoteAddr addr, int depth) {
  auto p = values_->read_word(addr);
  if (!p || *p == 0 || (stop_ && stop_(*p))) return;
  queued(t, *p, depth);
}

// Values queued in a buffered channel, in the order they will be received.
void TypedNilWalker::queued(const GoType* t, uint64_t hchan, int depth) {
  std::string why;
  uint64_t i = 0;
  values_->chan_elements(
      t, hchan, opts_.max_elements,
      [&](RemoteAddr e) {
        Suffix s(path_, fmt::format(" queued[{}]", i++));
        walk(t->elem, e, depth + 1);
      },
      &why);
  if (!why.empty()) warn(fmt::format("{}: channel buffer not examined: {}", path_, why));
}

void TypedNilWalker::interface(const GoType* t, RemoteAddr addr, int depth) {
  InterfaceValue v = values_->interface_value(t, addr);
  if (!v.problem.empty()) warn(fmt::format("{}: interface unreadable: {}", path_, v.problem));
  if (v.nil || v.dynamic == nullptr) return;
  if (v.typed_nil()) {
    // Reached again through another path: reported once. Frame variables are the exception: two
    // variables of one frame (an inlined call's argument and the local passed to it) may share
    // a stack slot, and each is named.
    bool fresh = synthetic(addr) || reported_.insert(addr.value()).second;
    if (!fresh && depth > 0) return;
    report::Pitfall p;
    p.location = path_;
    while (!p.location.empty() && p.location.back() == ' ') p.location.pop_back();
    p.interface_type = t->name;
    p.dynamic_type = v.dynamic->name;
    p.address = synthetic(addr) ? 0 : addr.value();
    p.why = std::string(kWhy);
    out_.pitfalls.push_back(std::move(p));
    return;
  }
  if (!may_hold_interface(v.dynamic)) return;
  // A pointer-shaped value lies in the data word itself; any other in a copy it points to.
  if (v.dynamic->direct_iface) {
    walk(v.dynamic, v.value_addr, depth + 1);
  } else {
    follow(v.dynamic, v.value_addr.value(), depth + 1);
  }
}

}  // namespace ifx
