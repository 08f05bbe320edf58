// Native (C) frames of a thread, unwound by libunwind over the target's memory: a custom address
// space whose accessors read ifxray's Memory (the snapshot of a live process, or a core) and the
// registers captured at the stop (or a core's NT_PRSTATUS), with the unwind tables
// (.eh_frame_hdr/.eh_frame) and names of the ELF modules the target had mapped.
// Not thread-safe.
#pragma once

#include <sys/user.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/binary/native_module.h"
#include "core/target/target.h"

namespace ifx {

struct NativeFrame {
  uint64_t pc = 0;  // the thread's pc (innermost frame) or a return address
  uint64_t sp = 0;
  std::vector<std::string> functions;  // innermost (inlined) first; empty: unknown
  std::string module;                  // file of the module holding pc; empty: none
  uint64_t offset = 0;                 // pc - start of the physical function
  bool has_offset = false;
};

struct NativeStack {
  std::vector<NativeFrame> frames;  // innermost first
  // Set when unwinding reached a pc in Go code (where the Go unwinder takes over): its function.
  std::string reached_go;
  std::string error;  // why unwinding stopped early, if it did
  bool truncated = false;
};

// The ELF modules mapped in the target, by address.
class NativeModules {
 public:
  // Opens the file behind every mapping with executable code. `header_bytes(addr, out)` reads
  // what the target itself holds at the start of a module's first mapping (0 when unknown), to
  // tell a file that differs from the mapped one; such files are left out, as missing ones are,
  // each with a problem saying so. `exe_override` replaces the path of the target's executable.
  NativeModules(const std::vector<Mapping>& mappings, const std::string& exe_path,
                const std::string& exe_override,
                const std::function<size_t(uint64_t, std::span<uint8_t>)>& header_bytes);
  ~NativeModules();

  NativeModule* find(uint64_t pc) const;
  // File bytes at a runtime address in a module's read-only mapping; false when not there.
  bool read_file(uint64_t addr, uint8_t* out, size_t size) const;
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::unique_ptr<NativeModule>> modules_;
  struct Range {
    uint64_t start;
    uint64_t end;
    NativeModule* module;
    bool writable;
  };
  std::vector<Range> ranges_;  // sorted by start
  std::vector<std::string> problems_;
};

class NativeUnwinder {
 public:
  // `is_go_pc` tells a pc in Go code, where native unwinding stops; it returns the function's
  // name, or empty for a pc outside Go.
  NativeUnwinder(Memory& memory, NativeModules& modules,
                 std::function<std::string(uint64_t)> go_function);
  ~NativeUnwinder();
  NativeUnwinder(const NativeUnwinder&) = delete;
  NativeUnwinder& operator=(const NativeUnwinder&) = delete;

  // `first_is_return`: regs.rip is a return address (a frame under a callee that is not C), to
  // be named by its call as the outer frames are.
  NativeStack unwind(const user_regs_struct& regs, size_t max_frames, bool first_is_return = false);

  struct Context;

 private:
  std::unique_ptr<Context> ctx_;
};

}  // namespace ifx
