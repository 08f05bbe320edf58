// Bulk reads of allgs: one request per g struct, then one per used stack range.
#include "core/runtime/goroutines.h"

#include <algorithm>

#include "core/runtime/goroutine_reading.h"
#include "core/runtime/stack_precopy.h"
#include "core/util/phases.h"

namespace ifx {
namespace {

constexpr size_t kMaxWaitReasons = 256;
constexpr uint64_t kMaxWaitReasonLength = 128;

uint64_t field_at(const std::vector<uint8_t>& g, const std::optional<FieldInfo>& f) {
  if (!f || f->size > 8 || f->offset + f->size > g.size()) return 0;
  uint64_t v = 0;
  for (uint64_t i = 0; i < f->size; ++i) v |= uint64_t{g[f->offset + i]} << (8 * i);
  return v;
}

}  // namespace

void decode_goroutine(const Layout& l, const std::vector<uint8_t>& raw, Goroutine& g) {
  auto get = [&](Fld f) { return field_at(raw, l.field(f)); };
  uint64_t status = get(Fld::kGAtomicStatus);
  g.status = static_cast<uint32_t>(status & ~uint64_t{kGscanBit});
  g.scan = (status & kGscanBit) != 0;
  g.goid = get(Fld::kGGoid);
  g.wait_reason = static_cast<uint8_t>(get(Fld::kGWaitReason));
  g.wait_since = static_cast<int64_t>(get(Fld::kGWaitSince));
  g.m = get(Fld::kGM);
  g.locked_m = get(Fld::kGLockedM);
  g.gopc = get(Fld::kGGopc);
  g.startpc = get(Fld::kGStartPc);
  g.parent_goid = get(Fld::kGParentGoid);
  g.stack_lo = get(Fld::kGStackLo);
  g.stack_hi = get(Fld::kGStackHi);
  g.sched_sp = get(Fld::kGSchedSp);
  g.sched_pc = get(Fld::kGSchedPc);
  g.syscall_sp = get(Fld::kGSyscallSp);
  g.syscall_pc = get(Fld::kGSyscallPc);
  g.labels = get(Fld::kGLabels);
  g.waiting = get(Fld::kGWaiting);
}

// The g structs' ranges, sorted, with neighbours less than a page apart merged.
std::vector<RemoteRange> merged_g_ranges(const std::vector<Goroutine>& gs, uint64_t size) {
  std::vector<RemoteRange> ranges;
  ranges.reserve(gs.size());
  for (const auto& g : gs) {
    if (!g.g.is_null()) ranges.push_back({g.g, size});
  }
  return merge_nearby(std::move(ranges));
}

namespace {

// Stacks copied before the stop that provably did not change are kept without a second copy
// (tests copy them again and compare: check_precopy); `stacks` are copied now.
void adopt_or_copy(GoRuntime& rt, std::span<const AdoptedRange> unchanged,
                   const StackPrecopy* precopy, std::vector<RemoteRange>& stacks,
                   std::vector<std::string>& problems) {
  if (!unchanged.empty() && precopy_check_requested()) {
    problems.push_back(check_precopy(rt.memory(), unchanged));
  } else if (!unchanged.empty() && !rt.memory().adopt(unchanged, precopy->arena())) {
    for (const auto& a : unchanged) stacks.push_back(RemoteRange{a.start, a.size});
  }
  PhaseTimer t("stop_stack_copy");
  rt.memory().capture(stacks);  // the unwinder reads them back from the snapshot
}

}  // namespace

// The part of g's stack the unwinder reads: from its saved sp up to stack.hi.
std::optional<RemoteRange> used_stack(const Goroutine& g, const GoroutineLimits& limits) {
  if (g.status == kGdead) return std::nullopt;
  // A running goroutine's saved sp is stale: keep its whole stack for the registers' unwind.
  uint64_t sp = g.status == kGrunning ? g.stack_lo : g.syscall_sp != 0 ? g.syscall_sp : g.sched_sp;
  if (sp == 0 || sp < g.stack_lo || sp >= g.stack_hi) return std::nullopt;
  return RemoteRange{RemoteAddr(sp), std::min(g.stack_hi - sp, limits.max_stack_bytes)};
}

// allgs' entries, at most `limit`; empty when allgs cannot be read.
std::vector<uint64_t> read_allgs(GoRuntime& rt, uint64_t limit) {
  auto allgs = rt.global(Glob::kAllgs);
  if (!allgs) return {};
  auto ptr = rt.memory().read_ptr(*allgs);
  auto len = rt.memory().read_u64(*allgs + 8);
  if (!ptr || !len) return {};
  std::vector<uint64_t> out(std::min(*len, limit));
  out.resize(rt.memory().read(
                 *ptr, std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size() * 8)) /
             8);
  return out;
}

uint64_t estimate_goroutine_bytes(GoRuntime& rt, const GoroutineLimits& limits) {
  auto g_size = rt.layout().size(Typ::kG);
  if (!g_size || *g_size == 0) return 0;
  std::vector<uint64_t> all = read_allgs(rt, limits.max_goroutines);
  if (all.empty()) return 0;
  // Used stacks are estimated from an even sample of the goroutines: reading them all would
  // cost a good part of what the estimate saves.
  constexpr size_t kSample = 1024;
  size_t step = std::max<size_t>(1, all.size() / kSample);
  std::vector<Goroutine> sample;
  for (size_t i = 0; i < all.size(); i += step) {
    if (all[i] != 0) sample.emplace_back().g = RemoteAddr(all[i]);
  }
  // The fields that place the used stack all lie in the g's first bytes: read only those.
  uint64_t prefix = 0;
  for (Fld f :
       {Fld::kGStackLo, Fld::kGStackHi, Fld::kGSchedSp, Fld::kGSyscallSp, Fld::kGAtomicStatus}) {
    if (auto info = rt.layout().field(f)) prefix = std::max(prefix, info->offset + info->size);
  }
  std::vector<uint8_t> raw(*g_size);
  auto head = std::span(raw).first(std::min(prefix, *g_size));
  uint64_t stack_bytes = 0;
  size_t read = 0;
  for (Goroutine& g : sample) {
    if (rt.memory().read(g.g, head) != head.size()) continue;
    ++read;
    decode_goroutine(rt.layout(), raw, g);
    if (auto r = used_stack(g, limits)) stack_bytes += r->size;
  }
  if (read == 0) return 0;
  // g structs are copied with the little gaps between them (merged_g_ranges): allow for those.
  return all.size() * (*g_size + *g_size / 8) + stack_bytes / read * all.size();
}

const char* status_string(uint32_t s) {
  switch (s) {
    case kGidle:
      return "idle";
    case kGrunnable:
      return "runnable";
    case kGrunning:
      return "running";
    case kGsyscall:
      return "syscall";
    case kGwaiting:
      return "waiting";
    case kGdead:
      return "dead";
    case kGcopystack:
      return "copystack";
    case kGpreempted:
      return "preempted";
    case kGleaked:
      return "leaked";
    case kGdeadextra:
      return "waiting for cgo callback";
    default:
      return "???";
  }
}

std::vector<Goroutine> read_goroutines(GoRuntime& rt, const GoroutineLimits& limits,
                                       std::vector<std::string>& problems,
                                       const StackPrecopy* precopy,
                                       std::vector<DeferredStack>* deferred) {
  std::vector<Goroutine> out;
  auto g_size = rt.layout().size(Typ::kG);
  auto allgs = rt.global(Glob::kAllgs);
  if (!g_size || !allgs || !rt.layout().field(Fld::kGGoid)) {
    problems.push_back(
        "the runtime's goroutine list cannot be located (allgs or g layout unknown)");
    return out;
  }
  auto ptr = rt.memory().read_ptr(*allgs);
  auto len = rt.memory().read_u64(*allgs + 8);
  if (!ptr || !len) {
    problems.push_back(
        fmt::format("runtime.allgs is unreadable: {}", rt.memory().why_unreadable(*allgs, 16)));
    return out;
  }
  uint64_t count = *len;
  // allgs.len, allgs.cap and allglen agree in a sane runtime; corrupt memory makes them differ,
  // and the smallest is the one to trust.
  auto cap = rt.memory().read_u64(*allgs + 16);
  auto allglen = rt.read_global(Glob::kAllglen, 8);
  for (auto bound : {cap, allglen}) {
    if (bound && *bound < count) {
      problems.push_back(
          fmt::format("allgs claims {} goroutines but its capacity or allglen "
                      "says {}; reading {}",
                      count, *bound, *bound));
      count = *bound;
    }
  }
  if (count > limits.max_goroutines) {
    problems.push_back(
        fmt::format("allgs claims {} goroutines; reading the first {} "
                    "(raise --max-goroutines)",
                    count, limits.max_goroutines));
    count = limits.max_goroutines;
  }
  std::vector<uint8_t> array(count * 8);
  size_t got = rt.memory().read(*ptr, array) / 8;
  if (got < count) {
    problems.push_back(fmt::format("allgs array is readable for {} of {} entries: {}", got, count,
                                   rt.memory().why_unreadable(*ptr + got * 8, 8)));
  }
  out.resize(got);
  for (size_t i = 0; i < got; ++i) out[i].g = RemoteAddr(load_le<uint64_t>(array.data() + i * 8));
  // g structs sit side by side in their spans: a few merged ranges copy them in far fewer
  // pieces than one per goroutine, and the snapshot keeps them without a second copy.
  {
    PhaseTimer t("stop_g_copy");
    rt.memory().capture(merged_g_ranges(out, *g_size));
  }
  std::vector<uint8_t> raw(*g_size);
  std::vector<RemoteRange> stacks;
  stacks.reserve(out.size());
  std::vector<AdoptedRange> unchanged;
  for (size_t i = 0; i < out.size(); ++i) {
    Goroutine& g = out[i];
    if (g.g.is_null() || rt.memory().read(g.g, raw) != raw.size()) {
      g.unreadable = g.g.is_null() ? "nil entry in allgs"
                                   : fmt::format("g at {} is unreadable: {}", g.g,
                                                 rt.memory().why_unreadable(g.g, *g_size));
      continue;
    }
    decode_goroutine(rt.layout(), raw, g);
    auto r = used_stack(g, limits);
    if (!r) continue;
    if (const uint8_t* bytes = precopy != nullptr ? precopy->unchanged(g, *r) : nullptr) {
      if (deferred != nullptr && g.waiting != 0) {
        deferred->push_back(DeferredStack{i, AdoptedRange{r->start, r->size, bytes}});
      } else {
        unchanged.push_back(AdoptedRange{r->start, r->size, bytes});
      }
    } else {
      stacks.push_back(*r);
    }
  }
  adopt_or_copy(rt, unchanged, precopy, stacks, problems);
  return out;
}

void settle_deferred_stacks(GoRuntime& rt, std::span<const DeferredStack> deferred,
                            const StackPrecopy& precopy,
                            const std::function<bool(size_t goroutine)>& undisturbed,
                            std::vector<std::string>& problems) {
  std::vector<AdoptedRange> unchanged;
  std::vector<RemoteRange> stacks;
  for (const DeferredStack& d : deferred) {
    if (undisturbed(d.goroutine)) {
      unchanged.push_back(d.stack);
    } else {
      stacks.push_back(RemoteRange{d.stack.start, d.stack.size});
    }
  }
  precopy.not_kept(stacks.size());
  adopt_or_copy(rt, unchanged, &precopy, stacks, problems);
}

std::vector<std::string> read_wait_reasons(GoRuntime& rt) {
  std::vector<std::string> out;
  auto table = rt.global(Glob::kWaitReasonStrings);
  if (!table) return out;
  for (size_t i = 0; i < kMaxWaitReasons; ++i) {
    auto p = rt.memory().read_ptr(*table + i * 16);
    auto n = rt.memory().read_u64(*table + i * 16 + 8);
    // The table ends where the next global begins: stop at the first entry that is not a string.
    if (!p || !n || (p->is_null() && *n != 0) || *n > kMaxWaitReasonLength) break;
    std::string s(*n, '\0');
    if (*n > 0 &&
        !rt.memory().read_exact(*p, std::span<uint8_t>(reinterpret_cast<uint8_t*>(s.data()), *n))) {
      break;
    }
    if (i > 0 && s.empty()) break;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace ifx
