// Candidates from the blocking objects, verdicts from the proof, groups for the report.
#include "core/analysis/leaks.h"

#include "core/analysis/leak_paths.h"
#include "core/types/runtime_type.h"
#include "core/util/phases.h"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace ifx {
namespace {

bool waiting(const Goroutine& g) {
  return g.status == kGwaiting || g.status == kGleaked;
}

std::vector<std::string> functions(const report::Goroutine& g) {
  std::vector<std::string> out;
  for (const auto& f : g.frames) out.push_back(f.function);
  return out;
}

// Go 1.19 - 1.25 keep a sync.Cond waiter only on the Cond's list: look in the Wait frame.
std::optional<RemoteAddr> cond_list(GoRuntime& rt, const Goroutine& g, const report::Goroutine& r) {
  for (size_t i = 0; i < r.frames.size(); ++i) {
    const report::Frame& f = r.frames[i];
    if (f.function != "sync.(*Cond).Wait" || f.inlined) continue;
    uint64_t end = f.sp + 512;
    for (size_t j = i + 1; j < r.frames.size(); ++j) {
      if (r.frames[j].physical_index != f.physical_index) {
        end = r.frames[j].sp;
        break;
      }
    }
    return find_notify_list(rt, g.g, f.sp, std::min(end, f.sp + 1024));
  }
  return std::nullopt;
}

ProofCandidate candidate(GoRuntime& rt, const BlockingSnapshot& b, const Goroutine& g,
                         const report::Goroutine& r, BlockKind kind) {
  ProofCandidate c;
  c.goid = g.goid;
  c.kind = kind;
  if (blocks_forever(kind)) return c;
  auto it = b.by_goid.find(g.goid);
  if (is_chan_block(kind)) {
    if (it == b.by_goid.end() || it->second.sudogs.empty()) {
      c.object_known = false;
      return c;
    }
    for (const Sudog& s : it->second.sudogs) {
      if (!s.c.is_null() && std::find(c.objects.begin(), c.objects.end(), s.c) == c.objects.end()) {
        c.objects.push_back(s.c);
      }
      c.hidden.push_back(s.addr + b.sudog_c_offset);
      c.hidden.push_back(s.addr + b.sudog_c_offset + 8);
    }
    c.object_known = !c.objects.empty();
    return c;
  }
  if (it != b.by_goid.end() && !it->second.sudogs.empty() &&
      !it->second.sudogs.front().elem.is_null()) {
    const Sudog& s = it->second.sudogs.front();
    c.objects.push_back(s.elem);
    c.hidden.push_back(s.addr + b.sudog_elem_offset);
    c.hidden.push_back(s.addr + b.sudog_elem_offset + 8);
    return c;
  }
  if (kind == BlockKind::kCond) {
    if (auto l = cond_list(rt, g, r)) {
      c.objects.push_back(*l);
      return c;
    }
  }
  c.object_known = false;
  return c;
}

std::string forever_fact(BlockKind k) {
  switch (k) {
    case BlockKind::kNilChanSend:
      return "a send on a nil channel blocks forever";
    case BlockKind::kNilChanRecv:
      return "a receive from a nil channel blocks forever";
    default:
      return "a select with no cases blocks forever";
  }
}

std::string object_kind(BlockKind k) {
  if (blocks_forever(k)) return k == BlockKind::kSelectNoCases ? "no cases" : "nil channel";
  if (is_chan_block(k)) return "channel";
  if (k == BlockKind::kCond) return "notify list";
  return "semaphore";
}

struct Decided {
  const Goroutine* g = nullptr;
  const report::Goroutine* r = nullptr;
  const ProofCandidate* c = nullptr;
  std::string verdict, reason;
};

// The goroutine ids queued on a channel, in queue order and as a set: describe() runs once per
// group, and 50k waiters on one channel in 80 groups cost 4M lookups when each group walks them.
struct Queue {
  std::vector<uint64_t> ids;
  std::unordered_set<uint64_t> set;
};
struct ChannelQueues {
  Queue send, recv;
};

class QueueIndex {
 public:
  explicit QueueIndex(const std::unordered_map<uint64_t, uint64_t>& goid_of_g)
      : goid_of_g_(goid_of_g) {}
  const ChannelQueues& of(RemoteAddr chan, const Channel& ch) {
    auto [it, added] = cache_.try_emplace(chan.value());
    if (added) {
      fill(ch.sendq, it->second.send);
      fill(ch.recvq, it->second.recv);
    }
    return it->second;
  }

 private:
  void fill(const std::vector<RemoteAddr>& q, Queue& out) {
    for (RemoteAddr g : q) {
      auto id = goid_of_g_.find(g.value());
      if (id != goid_of_g_.end() && out.set.insert(id->second).second)
        out.ids.push_back(id->second);
    }
  }
  const std::unordered_map<uint64_t, uint64_t>& goid_of_g_;
  std::unordered_map<uint64_t, ChannelQueues> cache_;
};

// The goroutines of queue q that are not in the (sorted) group: how many, and the first
// kMaxListedOthers of them in queue order.
void others(const Queue& q, const std::vector<uint64_t>& group, std::vector<uint64_t>& listed,
            size_t& total) {
  size_t mine = 0;
  for (uint64_t id : group) mine += q.set.count(id);
  total = q.ids.size() - mine;
  for (uint64_t id : q.ids) {
    if (listed.size() >= report::kMaxListedOthers) break;
    if (!std::binary_search(group.begin(), group.end(), id)) listed.push_back(id);
  }
}

// group: its goroutine ids, sorted.
report::BlockedOn describe(const Decided& d, const BlockingSnapshot& b, const ProofResult& proof,
                           QueueIndex& queues, const std::vector<uint64_t>& group,
                           std::span<const Goroutine> goroutines,
                           const std::map<RemoteAddr, std::string>& type_names) {
  report::BlockedOn out;
  BlockKind k = d.c->kind;
  out.kind = object_kind(k);
  if (blocks_forever(k)) {
    out.fact = forever_fact(k);
    return out;
  }
  if (d.c->objects.empty()) {
    out.where = "unknown";
    return out;
  }
  RemoteAddr obj = d.c->objects.front();
  out.address = obj.value();
  out.channels = is_chan_block(k) ? d.c->objects.size() : 0;
  if (auto it = proof.objects.find(obj.value()); it != proof.objects.end() && it->second.in_heap) {
    out.where = "heap";
    out.holder = it->second.base;
    out.holder_size = it->second.size;
    out.holder_offset = obj.value() - it->second.base;
  } else if (proof.ran) {
    out.where = "not in the heap";
    for (const Goroutine& g : goroutines) {
      if (obj.value() >= g.stack_lo && obj.value() < g.stack_hi) {
        out.where = fmt::format("stack of goroutine {}", g.goid);
      }
    }
  }
  if (auto it = b.channels.find(obj); it != b.channels.end()) {
    const Channel& ch = it->second;
    out.elem_size = ch.elemsize;
    out.cap = ch.dataqsiz;
    out.len = ch.qcount;
    out.closed = ch.closed;
    if (auto t = type_names.find(ch.elemtype); t != type_names.end()) out.elem_type = t->second;
    const ChannelQueues& q = queues.of(obj, ch);
    others(q.send, group, out.other_senders, out.other_senders_total);
    others(q.recv, group, out.other_receivers, out.other_receivers_total);
  }
  return out;
}

}  // namespace

std::string group_key(const report::LeakGroup& g) {
  std::string key = g.created_by ? fmt::format("{}:{}", g.created_by->function, g.created_by->line)
                                 : std::string("?");
  key += "|" + g.wait_reason;
  for (const auto& f : g.frames) key += "|" + f.function;
  return key;
}

uint64_t estimate_leaks_snapshot_bytes(GoRuntime& rt, const LeaksOptions& opts,
                                       std::shared_ptr<SpanPreread>* keep,
                                       const StackPrecopy* precopy) {
  return (precopy != nullptr ? estimate_snapshot_bytes(*precopy)
                             : estimate_snapshot_bytes(rt, opts.frames)) +
         (opts.prove ? estimate_proof_capture_bytes(rt, keep) : 0);
}

LeaksSnapshot snapshot_leaks(GoRuntime& rt, const LeaksOptions& opts, SpanPreread* preread,
                             const StackPrecopy* precopy) {
  LeaksSnapshot snap;
  std::vector<DeferredStack> deferred;  // pre-copied stacks of goroutines parked on channels
  {
    PhaseTimer t("stop_goroutines");
    snap.goroutines = snapshot_goroutines(rt, opts.frames, precopy, &deferred);
  }
  if (opts.prove) {
    snap.heap = capture_heap_for_proof(rt, snap.goroutines.goroutines, snap.no_heap,
                                       snap.heap_figures, preread);
  } else {
    snap.no_heap = "--no-proof";
  }
  // After the heap copy: sudogs live in the heap, so the walk over them needs the target only
  // for the channels the heap copy lacks; the walk itself runs after the release.
  std::vector<WaitingList> waiting;  // by goroutine, when the heap was copied
  {
    PhaseTimer t("stop_blocking");
    if (snap.heap) {
      waiting = capture_blocking_objects(rt, snap.goroutines.goroutines, opts.blocking);
      snap.blocking_pending = true;
    } else {
      snap.blocking = read_blocking(rt, snap.goroutines.goroutines, opts.blocking);
    }
  }
  if (!deferred.empty()) {
    // The channels are in the snapshot now. Without the walk's lists (--no-proof) the
    // pre-copied stacks of channel waiters are not kept: their stacks are copied now.
    PhaseTimer t("stop_deferred_stacks");
    const auto& gs = snap.goroutines.goroutines;
    settle_deferred_stacks(
        rt, deferred, *precopy,
        [&](size_t i) { return i < waiting.size() && queued_undisturbed(rt, gs[i], waiting[i]); },
        snap.goroutines.problems);
  }
  return snap;
}

void finish_leaks_snapshot(GoRuntime& rt, LeaksSnapshot& snap, const LeaksOptions& opts) {
  if (!snap.blocking_pending) return;
  snap.blocking = read_blocking(rt, snap.goroutines.goroutines, opts.blocking);
  snap.blocking_pending = false;
}

report::Leaks build_leaks(GoRuntime& rt, LeaksSnapshot& snap, const LeaksOptions& opts,
                          report::Goroutines* goroutines) {
  report::Goroutines gs = build_goroutines(rt, snap.goroutines, opts.frames);
  // Channels' element types: type descriptors never change, so they are read after the target
  // resumed (release_with_late_reads), not in the stop.
  std::map<RemoteAddr, std::string> type_names;
  TypeReader types(rt);
  for (const auto& [addr, ch] : snap.blocking.channels) {
    if (ch.elemtype.is_null() || type_names.count(ch.elemtype) != 0) continue;
    if (auto t = types.read(ch.elemtype); t && !t->name.empty()) type_names[ch.elemtype] = t->name;
  }
  report::Leaks out;
  out.go_version = gs.go_version;
  out.warnings = gs.warnings;
  for (const auto& p : snap.blocking.problems) out.warnings.push_back(p);
  std::unordered_map<uint64_t, const report::Goroutine*> report_of;
  for (const auto& r : gs.goroutines) report_of[r.goid] = &r;
  std::unordered_map<uint64_t, uint64_t> goid_of_g;
  std::vector<ProofCandidate> candidates;
  std::vector<std::pair<const Goroutine*, const report::Goroutine*>> blocked;
  for (const Goroutine& g : snap.goroutines.goroutines) {
    if (g.status == kGdead || g.status == kGdeadextra || !g.unreadable.empty()) continue;
    goid_of_g[g.g.value()] = g.goid;
    auto r = report_of.find(g.goid);
    if (r == report_of.end() || r->second->system) continue;
    ++out.total;
    if (!waiting(g)) continue;
    BlockKind kind = classify_block(r->second->wait_reason, functions(*r->second));
    if (kind == BlockKind::kNone) continue;
    ++out.blocked;
    if (g.status == kGleaked) out.runtime_marked = true;
    candidates.push_back(candidate(rt, snap.blocking, g, *r->second, kind));
    blocked.emplace_back(&g, r->second);
  }
  ProofResult proof;
  if (snap.heap) {
    proof = prove_leaks(rt, snap.heap.get(), snap.goroutines.goroutines, candidates,
                        [](uint64_t) { return true; });
    for (const auto& p : proof.problems) out.warnings.push_back("heap: " + p);
    snap.proof_ms = proof.ms;
  } else {
    proof.why_not = snap.no_heap;
  }
  out.engine = proof.ran ? fmt::format("heap proof over {} objects ({} bytes) in {:.0f} ms",
                                       proof.heap_objects, proof.heap_bytes, proof.ms)
                         : "no proof (" + proof.why_not + "): only nil channels and select {}";
  out.held_bytes = proof.held_bytes;

  // Verdict per candidate, then groups.
  std::map<std::string, std::vector<Decided>> by_key;
  for (size_t i = 0; i < candidates.size(); ++i) {
    Decided d{blocked[i].first, blocked[i].second, &candidates[i], "", ""};
    const ProofCandidate& c = candidates[i];
    if (d.g->status == kGleaked) {
      d.verdict = "proven";
      d.reason = "the runtime itself marked it leaked (Go's goroutine leak detector)";
    } else if (blocks_forever(c.kind)) {
      d.verdict = "proven";
      d.reason = forever_fact(c.kind) + ": no other goroutine can wake it";
    } else if (auto u = proof.unknown.find(c.goid); u != proof.unknown.end()) {
      d.verdict = "unknown";
      d.reason = u->second;
    } else if (proof.leaked.count(c.goid) != 0) {
      d.verdict = "proven";
      d.reason = fmt::format(
          "nothing that can still run refers to the {} it waits on: only leaked goroutines "
          "reach it",
          object_kind(c.kind));
    } else if (!proof.ran) {
      d.verdict = "unknown";
      d.reason = "not proven: " + proof.why_not;
    } else if (proof.object_marked[c.goid]) {
      d.verdict = "suspect";
      d.reason =
          fmt::format("the {} it waits on is still referenced (path below)", object_kind(c.kind));
    } else {
      continue;  // what it waits on is not in the heap (a global, a stack): not a leak
    }
    report::LeakGroup probe;
    probe.created_by = d.r->created_by;
    probe.wait_reason = d.r->wait_reason;
    for (const auto& f : d.r->frames) {
      if (f.shown) probe.frames.push_back(f);
    }
    by_key[d.verdict + "#" + group_key(probe)].push_back(d);
  }
  std::unique_ptr<LeakPathNamer> namer;  // DWARF is indexed only when a path is named
  QueueIndex queues(goid_of_g);
  for (auto& [key, members] : by_key) {
    const Decided& first = members.front();
    report::LeakGroup g;
    g.verdict = first.verdict;
    g.reason = first.reason;
    g.wait_reason = first.r->wait_reason;
    g.created_by = first.r->created_by;
    for (const auto& f : first.r->frames) {
      if (f.shown) g.frames.push_back(f);
    }
    for (const Decided& d : members) {
      g.goroutines.push_back(d.g->goid);
      if (d.r->wait_minutes &&
          (!g.oldest_wait_minutes || *d.r->wait_minutes > *g.oldest_wait_minutes)) {
        g.oldest_wait_minutes = d.r->wait_minutes;
      }
    }
    std::sort(g.goroutines.begin(), g.goroutines.end());
    if (g.verdict == "suspect") {
      bool old = g.oldest_wait_minutes && *g.oldest_wait_minutes >= opts.min_wait_minutes;
      if (!old && g.goroutines.size() < opts.min_group) continue;
    }
    g.blocked_on = describe(first, snap.blocking, proof, queues, g.goroutines,
                            snap.goroutines.goroutines, type_names);
    if (auto p = proof.paths.find(first.g->goid);
        g.verdict == "suspect" && p != proof.paths.end()) {
      if (!namer) namer = std::make_unique<LeakPathNamer>(rt, gs);
      g.path = namer->name(p->second, p->second.waited.value(), g.blocked_on.kind,
                           g.blocked_on.elem_type);
    }
    if (g.verdict == "proven") out.proven += g.goroutines.size();
    if (g.verdict == "suspect") out.suspect += g.goroutines.size();
    if (g.verdict == "unknown") out.unknown += g.goroutines.size();
    out.groups.push_back(std::move(g));
  }
  auto rank = [](const std::string& v) { return v == "proven" ? 0 : v == "suspect" ? 1 : 2; };
  std::stable_sort(out.groups.begin(), out.groups.end(),
                   [&](const report::LeakGroup& a, const report::LeakGroup& b) {
                     if (rank(a.verdict) != rank(b.verdict))
                       return rank(a.verdict) < rank(b.verdict);
                     if (a.goroutines.size() != b.goroutines.size())
                       return a.goroutines.size() > b.goroutines.size();
                     return a.goroutines.front() < b.goroutines.front();
                   });
  if (goroutines != nullptr) *goroutines = std::move(gs);
  return out;
}

}  // namespace ifx
