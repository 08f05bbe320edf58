// Memoised pclntab lookups.
#include "core/stack/pc_cache.h"

namespace ifx {

const std::optional<PcCache::Step>& PcCache::step(uint64_t pc) {
  auto it = steps_.find(pc);
  if (it != steps_.end()) return it->second;
  std::optional<Step> s;
  if (auto f = bin_.pclntab().find_func(pc)) s = Step{*f, bin_.pclntab().sp_delta(*f, pc)};
  return steps_.emplace(pc, s).first->second;
}

const std::vector<SourceFrame>& PcCache::frames(uint64_t pc) {
  auto it = frames_.find(pc);
  if (it != frames_.end()) return it->second;
  return frames_.emplace(pc, bin_.frames_at(pc)).first->second;
}

const PcCache::ArgLayout& PcCache::args(const Func& f, uint64_t pc) {
  constexpr uint64_t kMaxArgInfo = 64;  // abi.TraceArgsMaxLen is well below this
  constexpr uint64_t kMaxLiveInfo = 256;
  auto it = args_.find(pc);
  if (it != args_.end()) return it->second;
  ArgLayout a;
  a.info = bin_.funcdata(f, kFuncdataArgInfo, kMaxArgInfo);
  a.live_info = bin_.funcdata(f, kFuncdataArgLiveInfo, kMaxLiveInfo);
  uint32_t table = bin_.pclntab().pcdata_offset(f, kPcdataArgLiveIndex);
  if (table != 0) {
    try {
      a.live_index = bin_.pclntab().pc_value(f, table, pc);
    } catch (const Error&) {
      a.live_index = -1;
    }
  }
  return args_.emplace(pc, a).first->second;
}

}  // namespace ifx
