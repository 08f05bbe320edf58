// Names the hops of a leak path the way a Go programmer reads them: the root as the variable that
// holds it (DWARF globals, and the arguments and locals of the frame), each heap object by the
// static type it was reached through and the field that leads on (`*main.Worker .jobs`), map
// internals folded into `map value` / `map key`, interfaces followed through their dynamic type.
// Where DWARF is missing or a pointer is untyped (unsafe.Pointer, a closure), the allocation's own
// type record (Go 1.22+ allocation headers, mspan.largeType) types the object; where nothing is
// known, the hop is named by address and offset. Not thread-safe: one per report.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/analysis/leak_proof.h"
#include "core/report/goroutines.h"
#include "core/report/leaks.h"
#include "core/runtime/go_runtime.h"

namespace ifx {

class VariableSession;
struct GoType;

class LeakPathNamer {
 public:
  // `gs`: the goroutine report of the same snapshot (frames of stack roots).
  LeakPathNamer(GoRuntime& rt, const report::Goroutines& gs);
  ~LeakPathNamer();
  LeakPathNamer(const LeakPathNamer&) = delete;
  LeakPathNamer& operator=(const LeakPathNamer&) = delete;

  // The steps of `path`, root first, the object waited on (`waited`, inside the last object)
  // last. `kind` and `elem_type`: what the report says it is ("channel", "*main.Job").
  std::vector<report::PathStep> name(const RawPath& path, uint64_t waited, const std::string& kind,
                                     const std::string& elem_type);

 private:
  struct Ref;
  struct Global;
  Ref root_step(const PathRoot& root, report::PathStep& step);
  Ref object_step(const Ref& ref, const PathObject& o, report::PathStep& step, bool& shown);
  Ref from_word(const GoType* leaf, RemoteAddr word_at);
  Ref from_allocation(const PathObject& o);
  std::string fallback(const PathObject& o) const;

  GoRuntime& rt_;
  const report::Goroutines& gs_;
  std::unique_ptr<VariableSession> vars_;
  std::vector<Global> globals_;  // sorted by address
  bool globals_read_ = false;
};

}  // namespace ifx
