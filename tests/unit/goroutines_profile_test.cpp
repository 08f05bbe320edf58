// Which frames the goroutine profile and the folded stacks record: the runtime's rules
// (runtime/traceback.go tracebackPCs, runtime/pprof allFrames, expandFinalInlineFrame).
#include <doctest/doctest.h>

#include "formats/goroutines.h"

using ifx::report::Frame;
using ifx::report::Goroutine;

namespace {

Frame frame(const char* fn, uint32_t physical, bool inlined = false, bool shown = true) {
  Frame f;
  f.function = fn;
  f.physical_index = physical;
  f.inlined = inlined;
  f.shown = shown;
  return f;
}

std::vector<std::string> names(const std::vector<const Frame*>& stack) {
  std::vector<std::string> out;
  for (const auto* f : stack) out.push_back(f->function);
  return out;
}

}  // namespace

TEST_CASE("runtime frames stay, goexit and elided wrappers go") {
  Goroutine g;
  g.frames = {frame("runtime.gopark", 0, false, false),
              frame("runtime.chanrecv1", 1, false, false),
              frame("main.(*T).M", 2),
              frame("main.T.M", 3, false, false),                 // a hidden wrapper
              frame("runtime.deferCallSave", 4, false, false),    // a wrapper in Go 1.19
              frame("_cgoexp_0123_goCallback", 5, false, false),  // hidden, not a wrapper
              frame("main.main.func1", 6),
              frame("runtime.goexit", 7, false, false)};
  g.frames[3].elided_wrapper = true;
  g.frames[4].elided_wrapper = true;
  CHECK(names(ifx::formats::profile_stack(g, 0)) ==
        std::vector<std::string>{"runtime.gopark", "runtime.chanrecv1", "main.(*T).M",
                                 "_cgoexp_0123_goCallback", "main.main.func1"});
}

TEST_CASE("the depth limit counts goexit and keeps the inlining callers at the cut") {
  Goroutine g;
  g.frames = {frame("main.a", 0), frame("main.b", 1, true), frame("main.c", 1), frame("main.d", 2),
              frame("runtime.goexit", 3, false, false)};
  CHECK(names(ifx::formats::profile_stack(g, 2)) ==
        std::vector<std::string>{"main.a", "main.b", "main.c"});
  CHECK(names(ifx::formats::profile_stack(g, 3)) ==
        std::vector<std::string>{"main.a", "main.b", "main.c"});
  CHECK(names(ifx::formats::profile_stack(g, 4)) ==
        std::vector<std::string>{"main.a", "main.b", "main.c", "main.d"});
  CHECK(names(ifx::formats::profile_stack(g, 5)).size() == 4);
  CHECK(ifx::formats::profile_depth(19) == 32);
  CHECK(ifx::formats::profile_depth(22) == 32);
  CHECK(ifx::formats::profile_depth(23) == 128);
}

TEST_CASE("folded: outermost first, one line per stack with its count") {
  ifx::report::Goroutines gs;
  Goroutine a;
  a.frames = {frame("runtime.gopark", 0, false, false), frame("main.wait", 1),
              frame("runtime.goexit", 2, false, false)};
  Goroutine sys = a;
  sys.system = true;
  Goroutine running;  // no frames: not in the profile
  Goroutine b;
  b.frames = {frame("main.f;g", 0), frame("main.main", 1)};
  gs.goroutines = {a, b, a, sys, running};
  CHECK(ifx::formats::render_goroutines_folded(gs) ==
        "main.wait;runtime.gopark 2\nmain.main;main.f:g 1\n");
  gs.include_system = true;  // --system
  CHECK(ifx::formats::render_goroutines_folded(gs) ==
        "main.wait;runtime.gopark 3\nmain.main;main.f:g 1\n");
}
