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

}  // namespace ifx
