// Renders `ifxray frames`: Go's own traceback text, grouped text, JSON, a pprof goroutine
// profile, or folded stacks for flame graphs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/report/goroutines.h"

namespace ifx::formats {

enum class FramesFormat { kText, kGo, kJson, kPprof, kFolded };

// pprof: a mapping of the target's executable code, at runtime addresses.
struct ProfileMapping {
  uint64_t start = 0;
  uint64_t limit = 0;
  uint64_t offset = 0;
  std::string file;
  std::string build_id;
};

struct FramesStyle {
  bool group = true;  // text: one entry per identical stack
  // pprof: the executable's code mappings (none: one placeholder, as the runtime does without
  // /proc/self/maps) and when the goroutines were read (0: unknown, as for a core).
  std::vector<ProfileMapping> mappings;
  int64_t time_nanos = 0;
};

std::string render_goroutines(const report::Goroutines& gs, FramesFormat format,
                              const FramesStyle& style);
std::string render_goroutines_go(const report::Goroutines& gs);
std::string render_goroutines_text(const report::Goroutines& gs, const FramesStyle& style);
std::string render_goroutines_json(const report::Goroutines& gs);
// A gzipped pprof goroutine profile, as runtime/pprof's Lookup("goroutine").WriteTo(w, 0).
std::string render_goroutines_pprof(const report::Goroutines& gs, const FramesStyle& style);
// One line per distinct stack, outermost frame first: `main.main;main.f;runtime.gopark 3`.
std::string render_goroutines_folded(const report::Goroutines& gs);
// The frames the runtime's goroutine profile records for g, innermost first: every frame,
// runtime ones included, but runtime.goexit and the wrappers the runtime elides; with a
// non-zero max_depth, cut after that many as the runtime cuts them.
std::vector<const report::Frame*> profile_stack(const report::Goroutine& g, size_t max_depth);
// The runtime's stack depth limit of goroutine profiles: 32 frames before Go 1.23, then 128
// (GODEBUG=profstackdepth's default).
size_t profile_depth(int go_minor);
// The runtime's spelling of a function name: generic shapes as "[...]", gopanic as "panic".
std::string go_func_name(std::string_view name);

}  // namespace ifx::formats
