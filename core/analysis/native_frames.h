// `frames --native`: the C frames of goroutines in cgo calls and of threads running C code,
// unwound by libunwind. Only runs when asked: the plain frames path does none of this.
#pragma once

#include "core/analysis/goroutine_frames.h"
#include "core/report/goroutines.h"
#include "core/runtime/go_runtime.h"

namespace ifx {

struct NativeOptions {
  size_t max_frames = 256;  // native frames per thread
  uint64_t stack_bytes =
      256 << 10;  // bytes above a thread's sp copied while a live target is stopped
};

// While a live target is stopped: copies what native unwinding reads from memory (the stacks
// above the sp of threads outside Go code, the system stacks of the threads locked to goroutines
// above their g0.sched.sp, where C code that called back into Go lies, and the first page of each
// mapped module, to tell a changed file). Does nothing for a core.
void capture_native_memory(GoRuntime& rt, const GoroutineSnapshot& snap, const NativeOptions& opts);

// After the goroutines are built: native frames for the goroutines whose thread is in C code,
// the C frames under the goroutines' Go callbacks from C, and the threads in C code that run no
// goroutine. Problems (missing or changed module files)
// go to report.warnings.
void add_native_frames(GoRuntime& rt, const GoroutineSnapshot& snap, const NativeOptions& opts,
                       report::Goroutines& report);

}  // namespace ifx
