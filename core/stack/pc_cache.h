// Per-pc memo of pclntab lookups: 100k goroutines share a few hundred distinct pcs, and decoding
// the same pc-value tables for each of them dominated `frames`. One per analysis, not shared
// across threads.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/binary/go_binary.h"

namespace ifx {

class PcCache {
 public:
  explicit PcCache(const GoBinary& bin) : bin_(bin) {}

  struct Step {
    Func func;
    int32_t sp_delta = -1;
  };
  // The function containing the link-time pc and its SP delta there; nullopt outside Go code.
  // Throws (Error) on corrupt tables, as the uncached lookups do.
  const std::optional<Step>& step(uint64_t pc);
  // Source frames at the link-time pc (inlined calls expanded); throws on corrupt tables.
  const std::vector<SourceFrame>& frames(uint64_t pc);

  // How the traceback prints f's arguments at pc: its ArgInfo program and argument liveness.
  struct ArgLayout {
    std::optional<Bytes> info;
    std::optional<Bytes> live_info;
    int32_t live_index = -1;
  };
  const ArgLayout& args(const Func& f, uint64_t pc);

 private:
  const GoBinary& bin_;
  std::unordered_map<uint64_t, std::optional<Step>> steps_;
  std::unordered_map<uint64_t, std::vector<SourceFrame>> frames_;
  std::unordered_map<uint64_t, ArgLayout> args_;
};

}  // namespace ifx
