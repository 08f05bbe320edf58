// Stack roots of one goroutine: its frames unwound with pclntab, each scanned with the stack
// maps the compiler left at the frame's pc, as runtime.scanstack does.
#pragma once

#include <string_view>

#include "core/heap/heap.h"
#include "core/stack/pc_cache.h"
#include "core/stack/unwind.h"

namespace ifx {

class StackScanner {
 public:
  StackScanner(GoRuntime& rt, const HeapIndex& heap, const RootOptions& opts);
  void scan(const Goroutine& g, RootSet& out);

 private:
  struct Frame;
  void scan_frame(const Goroutine& g, const PhysicalFrame& f, uint32_t index, bool conservative,
                  RootSet& out);
  bool precise(const Goroutine& g, const PhysicalFrame& f, uint32_t index, RootSet& out);
  // Words of [from, from + words*8) whose bit is set in mask (nullptr: every word).
  void words(const Goroutine& g, std::string_view name, const PhysicalFrame& f, uint32_t index,
             uint64_t from, uint64_t nwords, const uint8_t* mask, bool conservative, RootSet& out);
  void records(const Goroutine& g, RootSet& out);
  void conservative_stack(const Goroutine& g, uint64_t sp, std::string_view why, RootSet& out);

  GoRuntime& rt_;
  const HeapIndex& heap_;
  const RootOptions& opts_;
  SpecialFuncs special_;
  PcCache cache_;
  uint64_t rodata_ = 0;
  std::vector<uint8_t> buf_;
};

}  // namespace ifx
