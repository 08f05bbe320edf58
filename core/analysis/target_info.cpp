// Runtime figures as the runtime itself computes them (gcount, allm, memstats).
#include "core/analysis/target_info.h"

#include "core/analysis/executable_info.h"
#include "core/runtime/goroutines.h"
#include "core/runtime/machines.h"

namespace ifx {
namespace {

constexpr uint64_t kMaxProcs = 1 << 16;
constexpr uint64_t kMaxGoroutines = 1 << 26;
constexpr uint64_t kPageSize = 8192;

// runtime.gcount(): allglen minus free Gs (global and per-P) minus system goroutines.
std::optional<int64_t> count_goroutines(GoRuntime& rt, std::string& why) {
  auto allglen = rt.read_global(Glob::kAllglen, 8);
  if (!allglen) {
    why = "runtime.allglen is unreadable";
    return std::nullopt;
  }
  int64_t n = static_cast<int64_t>(*allglen);
  auto sched = rt.global(Glob::kSched);
  if (!sched) {
    why = "runtime.sched is unknown";
    return std::nullopt;
  }
  bool old_free_list = rt.layout().field(Fld::kSchedGFreeN).has_value();
  for (Fld f : old_free_list
                   ? std::vector<Fld>{Fld::kSchedGFreeN}
                   : std::vector<Fld>{Fld::kSchedGFreeStackSize, Fld::kSchedGFreeNoStackSize}) {
    auto v = rt.read_signed_field(*sched, f);
    if (!v) {
      why = fmt::format("{} is unreadable", field_name(f));
      return std::nullopt;
    }
    n -= *v;
  }
  auto ngsys = rt.read_signed_field(*sched, Fld::kSchedNGsys);
  if (!ngsys) {
    why = "runtime.sched.ngsys is unreadable";
    return std::nullopt;
  }
  n -= *ngsys;
  auto allp = rt.global(Glob::kAllp);
  auto ptr = allp ? rt.memory().read_ptr(*allp) : std::nullopt;
  auto len = allp ? rt.memory().read_u64(*allp + 8) : std::nullopt;
  if (!ptr || !len || *len > kMaxProcs) {
    why = "runtime.allp is unreadable";
    return std::nullopt;
  }
  Fld p_free = rt.layout().field(Fld::kPGFreeN) ? Fld::kPGFreeN : Fld::kPGFreeSize;
  for (uint64_t i = 0; i < *len; ++i) {
    auto p = rt.memory().read_ptr(*ptr + i * 8);
    if (!p || p->is_null()) continue;
    auto v = rt.read_signed_field(*p, p_free);
    if (!v) {
      why = fmt::format("P {} free list is unreadable", i);
      return std::nullopt;
    }
    n -= *v;
  }
  return n < 1 ? 1 : n;  // the runtime's own clamp: at least the caller runs
}

void count_states(GoRuntime& rt, report::RuntimeFacts& facts) {
  auto allgs = rt.global(Glob::kAllgs);
  auto status = rt.layout().field(Fld::kGAtomicStatus);
  auto ptr = allgs ? rt.memory().read_ptr(*allgs) : std::nullopt;
  auto len = allgs ? rt.memory().read_u64(*allgs + 8) : std::nullopt;
  if (!ptr || !len || !status || status->size > 8 || *len > kMaxGoroutines) return;
  std::vector<uint8_t> array(*len * 8);
  size_t count = rt.memory().read(*ptr, array) / 8;
  // One batched read of every status word: a live target answers it in a few system calls.
  std::vector<uint64_t> values(count);
  std::vector<ReadRequest> requests(count);
  for (size_t i = 0; i < count; ++i) {
    RemoteAddr g(load_le<uint64_t>(array.data() + i * 8));
    requests[i].addr = g + status->offset;
    requests[i].out = std::span<uint8_t>(reinterpret_cast<uint8_t*>(&values[i]), status->size);
  }
  rt.memory().read_many(requests);
  for (size_t i = 0; i < count; ++i) {
    bool ok = requests[i].done == status->size;
    facts.goroutine_states[ok ? status_string(
                                    static_cast<uint32_t>(values[i] & ~uint64_t{kGscanBit}))
                              : "unreadable"]++;
  }
}

void read_heap(GoRuntime& rt, report::RuntimeFacts& facts) {
  if (auto pages = rt.read_global_field(Glob::kMheap, Fld::kMheapPagesInUse)) {
    facts.heap_in_use = *pages * kPageSize;
  }
  facts.heap_live = rt.read_global_field(Glob::kGcController, Fld::kGcHeapLive);
  facts.heap_marked = rt.read_global_field(Glob::kGcController, Fld::kGcHeapMarked);
  facts.num_gc = rt.read_global_field(Glob::kMemstats, Fld::kMstatsNumGC);
  facts.pause_total_ns = rt.read_global_field(Glob::kMemstats, Fld::kMstatsPauseTotalNs);
  facts.last_gc_unix_ns = rt.read_global_field(Glob::kMemstats, Fld::kMstatsLastGCUnix);
}

std::map<uint64_t, MachineInfo> machines_by_tid(GoRuntime& rt) {
  std::map<uint64_t, MachineInfo> out;
  for (const Machine& m : read_machines(rt)) {
    if (!m.procid) continue;
    MachineInfo& info = out[*m.procid];
    info.id = m.id;
    if (!m.curg.is_null()) info.curg_goid = rt.read_field(m.curg, Fld::kGGoid);
  }
  return out;
}

report::MappingSummary summarise_mappings(const Target& target) {
  report::MappingSummary s;
  std::string exe = target.exe_path();
  for (const auto& m : target.mappings()) {
    uint64_t size = m.end - m.start;
    ++s.count;
    s.total_bytes += size;
    if (!m.path.empty() && m.path == exe) {
      s.executable_bytes += size;
    } else if (!m.path.empty() && m.path[0] == '/') {
      s.library_bytes += size;
    } else {
      s.anonymous_bytes += size;
    }
  }
  return s;
}

}  // namespace

RuntimeReading read_runtime(GoRuntime& rt) {
  RuntimeReading r;
  auto& f = r.facts;
  f.layout_source = rt.layout().source;
  f.globals_source = rt.globals().source;
  f.allglen = rt.read_global(Glob::kAllglen, 8);
  f.goroutines = count_goroutines(rt, f.goroutines_error);
  if (auto v = rt.read_global(Glob::kGomaxprocs, 4)) f.gomaxprocs = static_cast<int32_t>(*v);
  if (auto v = rt.read_global(Glob::kNcpu, 4)) f.ncpu = static_cast<int32_t>(*v);
  count_states(rt, f);
  read_heap(rt, f);
  r.m_by_tid = machines_by_tid(rt);
  return r;
}

report::TargetInfo describe_target(GoRuntime& rt, RuntimeReading reading) {
  report::TargetInfo info;
  Target& target = rt.target();
  info.exe = describe_executable(rt.binary());
  info.live = target.is_live();
  info.pid = target.pid();
  info.cmdline = target.cmdline();
  info.exe_path = target.exe_path();
  info.runtime = std::move(reading.facts);
  info.mappings = summarise_mappings(target);
  info.warnings = target.warnings();
  for (const auto& p : rt.problems()) info.warnings.push_back(p);
  for (const auto& t : target.threads()) {
    report::ThreadInfo ti;
    ti.tid = t.tid;
    ti.state = t.state;
    ti.name = t.name;
    ti.has_regs = t.has_regs;
    if (t.has_regs) {
      ti.pc = t.regs.rip;
      ti.sp = t.regs.rsp;
      std::vector<SourceFrame> frames;
      try {
        frames = rt.binary().frames_at(ti.pc - rt.bias());
      } catch (const Error& e) {
        ti.location = e.what();
      }
      if (!frames.empty()) {
        ti.function = frames.front().function;
        ti.file = frames.front().file;
        ti.line = frames.front().line;
      } else if (ti.location.empty()) {
        for (const auto& m : target.mappings()) {
          if (RemoteAddr(ti.pc) >= m.start && RemoteAddr(ti.pc) < m.end) {
            ti.location = fmt::format("{}+{:#x}", m.path.empty() ? "[anon]" : m.path,
                                      ti.pc - m.start.value() + m.offset);
          }
        }
      }
    }
    if (auto it = reading.m_by_tid.find(static_cast<uint64_t>(t.tid));
        it != reading.m_by_tid.end()) {
      ti.m_id = it->second.id;
      ti.goroutine = it->second.curg_goid;
    }
    info.threads.push_back(std::move(ti));
  }
  return info;
}

}  // namespace ifx
