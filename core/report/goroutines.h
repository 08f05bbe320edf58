// Plain data of `ifxray frames`: every goroutine with its frames, as the runtime would print it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ifx::report {

// An argument or local of a frame (`frames --locals`).
struct Variable {
  std::string name;
  bool arg = false;
  std::string type;          // static type
  std::string value;         // preview; for interfaces `error(*main.MyErr) nil`
  std::string dynamic_type;  // interfaces: the dynamic type ("" when nil or not an interface)
  std::string unavailable;   // why there is no value ("optimized away", "unreadable: ...")
};

struct Frame {
  std::string function;
  std::string file;
  int32_t line = 0;
  uint64_t pc = 0;     // resume pc of the physical frame (runtime address)
  uint64_t entry = 0;  // entry of the physical function
  uint64_t sp = 0;
  int32_t frame_size = 0;
  bool inlined = false;
  bool shown = true;  // printed by the runtime's own traceback (runtime frames are hidden)
  bool elided_wrapper = false;   // a wrapper the runtime leaves out of tracebacks and profiles
  bool wrapper = false;          // a compiler-generated wrapper (the runtime's traceback hides it)
  int32_t start_line = 0;        // line of the function's func keyword (Go 1.20+; 0 if unknown)
  uint32_t physical_index = 0;   // which physical frame this source frame belongs to
  std::string args;              // the runtime's rendering of the arguments (physical frames)
  std::vector<Variable> locals;  // --locals: DWARF arguments and locals (physical frames)
};

struct Instruction {
  uint64_t address = 0;  // runtime address
  std::string bytes;
  std::string text;
  std::string file;
  int32_t line = 0;
  bool current = false;  // holds the goroutine's pc
};

struct CreatedBy {
  std::string function;
  std::string file;
  int32_t line = 0;
  uint64_t pc = 0;
  uint64_t entry = 0;
  uint64_t parent_goid = 0;  // 0 when the runtime does not keep it (before Go 1.21)
  bool shown = true;
};

// A native (C) frame from libunwind; inlined calls are expanded as for Go frames.
struct NativeFrame {
  std::string function;  // empty: unknown
  bool inlined = false;  // inlined into the next frame
  std::string module;    // file of the module holding pc; empty: none
  uint64_t pc = 0;
  uint64_t sp = 0;
  uint64_t offset = 0;  // pc - start of the physical function, when has_offset
  bool has_offset = false;
};

// Native frames of one thread, innermost first, down to where Go code takes over.
struct NativeStack {
  std::vector<NativeFrame> frames;
  std::string reached_go;  // the Go function where native unwinding handed over, if it did
  std::string error;       // why unwinding stopped early
  bool truncated = false;
};

// The C frames under a Go callback from C: the C code (crosscall2 first) that called back into Go
// and lies on its thread's system stack, between a runtime.cgocallback frame of the goroutine and
// the Go frames below it (where runtime.asmcgocall had called C).
struct CallbackNative {
  uint32_t frame = 0;  // index in Goroutine::frames of the runtime.cgocallback frame above them
  NativeStack stack;
};

// A thread that runs C code and no goroutine: created by C, or an M of the runtime in C.
struct NativeThread {
  int tid = 0;
  std::string name;
  bool runtime_thread = false;  // an M of the Go runtime (else created by C code)
  NativeStack stack;
};

struct Goroutine {
  uint64_t goid = 0;
  std::string status;        // "waiting", "runnable", ...
  std::string wait_reason;   // "chan receive", empty when not waiting
  std::string header_state;  // what the runtime prints in brackets: wait reason or status
  std::optional<int64_t> wait_minutes;
  std::optional<int64_t> wait_ns;  // since waitsince, as the runtime measures it
  bool wait_estimated = false;     // measured against an estimated "now" (a core without clock)
  std::vector<std::pair<std::string, std::string>> labels;  // pprof labels, sorted by key
  bool locked_to_thread = false;
  bool system = false;  // a runtime goroutine, hidden unless --system
  bool scan = false;
  std::optional<int> thread;  // tid of the thread running it
  // A running goroutine whose thread was off its stack: "vdso" or "system stack"
  std::string running_in;
  uint64_t start_pc = 0;
  std::string start_function;
  std::optional<CreatedBy> created_by;
  std::vector<Frame> frames;  // innermost first; inlined calls expanded
  bool truncated = false;
  std::string error;                // why the stack could not be fully read
  std::string labels_error;         // why the labels could not be fully read
  std::vector<Instruction> disasm;  // with --disasm: around the innermost frame's pc
  // With --native, for a goroutine in a cgo call: the C frames its thread runs.
  std::optional<NativeStack> native;
  // With --native, for a goroutine in Go code called back from C: the C frames under each
  // runtime.cgocallback frame, innermost callback first.
  std::vector<CallbackNative> callback_native;
};

struct Goroutines {
  std::string go_version;
  int go_minor = 0;             // picks the runtime's elision rule in the go format
  bool include_system = false;  // --system: the go format prints runtime goroutines too
  bool with_locals = false;     // --locals was asked for
  std::vector<Goroutine> goroutines;
  std::vector<std::string> warnings;
  bool native = false;                       // --native: native frames were looked for
  std::vector<NativeThread> native_threads;  // threads in C code running no goroutine
};

}  // namespace ifx::report
