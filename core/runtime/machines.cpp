// allm walk shared by `info` (thread to goroutine) and `frames` (goroutine to thread).
#include "core/runtime/machines.h"

namespace ifx {

std::vector<Machine> read_machines(GoRuntime& rt) {
  constexpr uint64_t kMaxMs = 1 << 16;
  std::vector<Machine> out;
  auto allm = rt.global(Glob::kAllm);
  auto m = allm ? rt.memory().read_ptr(*allm) : std::nullopt;
  for (uint64_t n = 0; m && !m->is_null() && n < kMaxMs; ++n) {
    Machine mc;
    mc.m = *m;
    mc.id = rt.read_signed_field(*m, Fld::kMId).value_or(-1);
    mc.procid = rt.read_field(*m, Fld::kMProcId);
    mc.curg = RemoteAddr(rt.read_field(*m, Fld::kMCurG).value_or(0));
    mc.g0 = RemoteAddr(rt.read_field(*m, Fld::kMG0).value_or(0));
    mc.gsignal = RemoteAddr(rt.read_field(*m, Fld::kMGsignal).value_or(0));
    mc.vdso_sp = rt.read_field(*m, Fld::kMVdsoSP).value_or(0);
    mc.vdso_pc = rt.read_field(*m, Fld::kMVdsoPC).value_or(0);
    out.push_back(mc);
    auto next = rt.read_field(*m, Fld::kMAllLink);
    m = next ? std::optional<RemoteAddr>(RemoteAddr(*next)) : std::nullopt;
  }
  return out;
}

}  // namespace ifx
