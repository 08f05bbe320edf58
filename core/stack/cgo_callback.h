// The C frames under a Go callback from C (Go -> cgo call -> C -> exported Go function).
//
// C calls crosscall2 (Go assembly), which calls runtime.cgocallback on the thread's system stack
// (g0): it saves g0.sched.sp at 0(SP), sets g0.sched.sp to its own SP and moves to the
// goroutine's stack with a frame of the same size, whose return address is where the goroutine
// had left Go for C (runtime.cgocall). While the callback runs, or its goroutine (locked to the
// thread) is parked in it, g0.sched.sp stays there: the C frames that called back lie above it.
#pragma once

#include <cstdint>
#include <vector>

#include "core/binary/pclntab.h"
#include "core/stack/native_unwind.h"
#include "core/target/memory.h"

namespace ifx {

// Native frames under each runtime.cgocallback frame of one goroutine, innermost callback first:
// crosscall2, then the C frames libunwind finds above it, down to where Go code takes over
// (runtime.asmcgocall). `g0_sp` is the goroutine's thread's g0.sched.sp; `frame_sizes` are the
// SP deltas of its cgocallback frames (the same on both stacks), innermost first. A stack that
// cannot be followed ends with an error; after one, the outer callbacks are not looked for.
std::vector<NativeStack> unwind_cgo_callbacks(Memory& memory, const Pclntab& tab, uint64_t bias,
                                              NativeModules& modules, NativeUnwinder& unwinder,
                                              uint64_t g0_sp,
                                              const std::vector<int32_t>& frame_sizes,
                                              size_t max_frames);

}  // namespace ifx
