// The value walk of `pitfalls`: from a root (a global, a frame variable, a heap object whose type
// the runtime records) through fields, elements, map values, pointers and the dynamic values of
// interfaces, reporting every interface that holds a typed nil. One walker serves a whole run:
// what it visited, reported and warned about is shared by all roots, so an object that many
// goroutines' frames reach is walked once, not once per frame. Not thread-safe.
#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/report/pitfalls.h"
#include "core/values/value_reader.h"

namespace ifx {

struct PitfallOptions;

class TypedNilWalker {
 public:
  TypedNilWalker(const PitfallOptions& opts, report::Pitfalls& out);

  // Pointers to addresses for which stop(address) holds are not followed: objects that are
  // walked as roots of their own, so that what lies in them is reported under their name.
  void set_stop(std::function<bool(uint64_t)> stop) { stop_ = std::move(stop); }
  // Walks the value of type t at addr, read through `values` (which may serve a variable
  // assembled from stack slots at a synthetic address); `path` names it in findings.
  void walk_root(ValueReader& values, const GoType* t, RemoteAddr addr, std::string path);
  // Walks the values queued in the buffer of the channel whose hchan is at `hchan`, of element
  // type `elem` (a channel known without a variable: one a goroutine waits on).
  void walk_channel(ValueReader& values, const GoType* elem, uint64_t hchan, std::string path);
  // Walks the live values of `n` map buckets or groups of type `group` at `base` (a bucket
  // array that is a heap object of its own); each is named `path` + [key].
  void walk_map_groups(ValueReader& values, const GoType* group, uint64_t base, uint64_t n,
                       std::string path);
  // False for types that cannot contain an interface (strings, numbers, ...): no walk needed.
  bool may_hold_interface(const GoType* t, int depth = 0);
  // True once --max-values is reached (warns once).
  bool budget_exhausted();

 private:
  struct Key {
    uint64_t addr;
    const GoType* type;
    bool operator==(const Key& o) const { return addr == o.addr && type == o.type; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<uint64_t>()(k.addr) ^ (std::hash<const void*>()(k.type) << 1);
    }
  };
  // Appends to the path for the duration of a nested walk.
  class Suffix {
   public:
    Suffix(std::string& path, std::string_view s) : path_(path), len_(path.size()) {
      path_.append(s);
    }
    ~Suffix() { path_.resize(len_); }
    Suffix(const Suffix&) = delete;
    Suffix& operator=(const Suffix&) = delete;

   private:
    std::string& path_;
    size_t len_;
  };

  void walk(const GoType* t, RemoteAddr addr, int depth);
  void follow(const GoType* t, uint64_t target, int depth);
  void elements(const GoType* elem, uint64_t base, uint64_t n, int depth);
  void map_values(const GoType* t, RemoteAddr addr, int depth);
  void chan_buffer(const GoType* t, RemoteAddr addr, int depth);
  void queued(const GoType* chan, uint64_t hchan, int depth);
  void interface(const GoType* t, RemoteAddr addr, int depth);
  void warn(std::string w);

  const PitfallOptions& opts_;
  report::Pitfalls& out_;
  ValueReader* values_ = nullptr;
  std::string path_;
  std::function<bool(uint64_t)> stop_;
  // Each value at the smallest depth it was walked at: reached again less deep, it is walked
  // again (its children were cut by --max-depth before), else not.
  std::unordered_map<Key, int, KeyHash> visited_;
  std::unordered_map<const GoType*, bool> memo_;
  std::unordered_set<uint64_t> reported_;  // interface slots reported
  size_t warned_ = 0;
};

}  // namespace ifx
