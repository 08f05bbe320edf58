// Sudogs, channels and semaphore treaps of blocked goroutines (chan.go, select.go, sema.go).
#include "core/runtime/blocking.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace ifx {
namespace {

constexpr uint64_t kSemTabSize = 251;  // sema.go semTabSize, the same in Go 1.19 - 1.27
constexpr size_t kMaxTreapNodes = 4'000'000;
constexpr size_t kMinPrefetch = 64;  // sudogs per batch worth a capture of its own

struct Wait {
  std::string_view reason;
  BlockKind kind;
};

constexpr Wait kWaits[] = {
    {"chan send (nil chan)", BlockKind::kNilChanSend},
    {"chan receive (nil chan)", BlockKind::kNilChanRecv},
    {"select (no cases)", BlockKind::kSelectNoCases},
    {"chan send", BlockKind::kChanSend},
    {"chan receive", BlockKind::kChanRecv},
    {"select", BlockKind::kSelect},
    {"sync.Mutex.Lock", BlockKind::kMutex},
    {"sync.RWMutex.RLock", BlockKind::kRWMutexRLock},
    {"sync.RWMutex.Lock", BlockKind::kRWMutexLock},
    {"sync.WaitGroup.Wait", BlockKind::kWaitGroup},
    {"sync.Cond.Wait", BlockKind::kCond},
};

// The innermost sync frame of a goroutine parked in "semacquire" (Go 1.19 - 1.22).
constexpr std::pair<std::string_view, BlockKind> kSyncFrames[] = {
    {"sync.(*Mutex).lockSlow", BlockKind::kMutex},
    {"sync.(*Mutex).Lock", BlockKind::kMutex},
    {"sync.(*RWMutex).RLock", BlockKind::kRWMutexRLock},
    {"sync.(*RWMutex).Lock", BlockKind::kRWMutexLock},
    {"sync.(*WaitGroup).Wait", BlockKind::kWaitGroup},
    {"sync.(*Cond).Wait", BlockKind::kCond},
};

// A runtime struct copied once; fields read from the copy.
struct Raw {
  std::vector<uint8_t> bytes;
  uint64_t get(const std::optional<FieldInfo>& f) const {
    if (!f || f->size > 8 || f->offset + f->size > bytes.size()) return 0;
    uint64_t v = 0;
    for (uint64_t i = 0; i < f->size; ++i) v |= uint64_t{bytes[f->offset + i]} << (8 * i);
    return v;
  }
  uint64_t word(const std::optional<FieldInfo>& f) const {
    if (!f) return 0;
    return get(FieldInfo{f->offset, 8});
  }
};

std::optional<Raw> read_struct(Memory& mem, RemoteAddr at, uint64_t size) {
  Raw r;
  r.bytes.resize(size);
  if (at.is_null() || !mem.read_exact(at, r.bytes)) return std::nullopt;
  return r;
}

class SudogReader {
 public:
  explicit SudogReader(GoRuntime& rt) : rt_(rt), l_(rt.layout()) {
    size_ = l_.size(Typ::kSudog).value_or(0);
    ok_ = size_ > 0 && size_ <= 4096 && l_.field(Fld::kSudogG) && l_.field(Fld::kSudogElem) &&
          l_.field(Fld::kSudogC) && l_.field(Fld::kSudogWaitlink) && l_.field(Fld::kSudogNext);
  }
  bool ok() const { return ok_; }
  uint64_t size() const { return size_; }

  // Reads into *raw_out when given (callers reuse one buffer: 100k sudogs, no allocations).
  std::optional<Sudog> read(RemoteAddr at, Raw* raw_out = nullptr) {
    Raw* raw = raw_out != nullptr ? raw_out : &scratch_;
    raw->bytes.resize(size_);
    if (at.is_null() || !rt_.memory().read_exact(at, raw->bytes)) return std::nullopt;
    Sudog s;
    s.addr = at;
    s.g = RemoteAddr(raw->word(l_.field(Fld::kSudogG)));
    // Go 1.26+: the integer copy is the truth (the pointer word is nil while the runtime's leak
    // detection hides it).
    uint64_t elem = raw->word(l_.field(Fld::kSudogElemVu));
    s.elem = RemoteAddr(elem != 0 ? elem : raw->word(l_.field(Fld::kSudogElem)));
    uint64_t c = raw->word(l_.field(Fld::kSudogCVu));
    s.c = RemoteAddr(c != 0 ? c : raw->word(l_.field(Fld::kSudogC)));
    s.prev = RemoteAddr(raw->word(l_.field(Fld::kSudogPrev)));
    s.is_select = raw->get(l_.field(Fld::kSudogIsSelect)) != 0;
    return s;
  }
  RemoteAddr link(const Raw& raw, Fld f) const { return RemoteAddr(raw.word(l_.field(f))); }

 private:
  GoRuntime& rt_;
  const Layout& l_;
  uint64_t size_ = 0;
  bool ok_ = false;
  Raw scratch_;
};

// Copies the channel wait queues, lists of sudogs that start at `heads` (next pointer at `link`),
// into the snapshot level by level, one batch per level, before they are walked one sudog at a
// time: 100k blocked goroutines cost a few system calls in the stop, not 100k.
void prefetch_lists(Memory& mem, std::vector<RemoteAddr> heads, uint64_t size,
                    std::optional<FieldInfo> link, size_t max_depth) {
  if (!mem.captures() || !link) return;
  std::unordered_set<uint64_t> seen;
  std::vector<RemoteRange> level;
  for (size_t depth = 0; depth < max_depth && !heads.empty(); ++depth) {
    level.clear();
    for (RemoteAddr a : heads) {
      if (!a.is_null() && seen.insert(a.value()).second) level.push_back({a, size});
    }
    // A short level is left to the walk: long queues must not become thousands of batches.
    if (depth > 0 && level.size() < kMinPrefetch) return;
    mem.capture(level);
    heads.clear();
    for (const RemoteRange& r : level) {
      auto next = mem.read_u64(r.start + link->offset);
      if (next && *next != 0) heads.emplace_back(*next);
    }
  }
}

// Waiters of one channel queue (waitq.first → sudog.next), their g's in order.
std::vector<RemoteAddr> read_queue(SudogReader& sr, RemoteAddr first, size_t max,
                                   std::string& error) {
  std::vector<RemoteAddr> out;
  std::unordered_set<uint64_t> seen;
  Raw raw;
  for (RemoteAddr at = first; !at.is_null();) {
    if (out.size() >= max || !seen.insert(at.value()).second) {
      error = "wait queue too long or cyclic; truncated";
      break;
    }
    auto s = sr.read(at, &raw);
    if (!s) {
      error = fmt::format("wait queue sudog {} unreadable", at);
      break;
    }
    out.push_back(s->g);
    at = sr.link(raw, Fld::kSudogNext);
  }
  return out;
}

Channel read_channel(GoRuntime& rt, SudogReader& sr, RemoteAddr at, const BlockingLimits& limits,
                     bool queues = true) {
  Channel ch;
  ch.addr = at;
  const Layout& l = rt.layout();
  auto size = l.size(Typ::kHchan);
  if (!size || *size > 4096) {
    ch.error = "runtime.hchan layout unknown";
    return ch;
  }
  auto raw = read_struct(rt.memory(), at, *size);
  if (!raw) {
    ch.error = "hchan " + rt.memory().why_unreadable(at, *size);
    return ch;
  }
  ch.qcount = raw->get(l.field(Fld::kHchanQcount));
  ch.dataqsiz = raw->get(l.field(Fld::kHchanDataqsiz));
  ch.elemsize = raw->get(l.field(Fld::kHchanElemsize));
  ch.closed = raw->get(l.field(Fld::kHchanClosed)) != 0;
  ch.elemtype = RemoteAddr(raw->get(l.field(Fld::kHchanElemtype)));
  std::string err;
  if (queues) {
    ch.recvq =
        read_queue(sr, RemoteAddr(raw->get(l.field(Fld::kHchanRecvqFirst))), limits.max_queue, err);
    ch.sendq =
        read_queue(sr, RemoteAddr(raw->get(l.field(Fld::kHchanSendqFirst))), limits.max_queue, err);
  }
  if (ch.qcount > ch.dataqsiz) err = "qcount above capacity";
  ch.error = err;
  return ch;
}

// The WaitingList of every waiting goroutine (out[i] for goroutines[i]). The lists are read
// level by level, each level's sudogs copied into the snapshot in one batch first while the
// process is stopped: 100k blocked goroutines cost a few system calls in the stop, not 100k.

std::vector<WaitingList> read_waiting(GoRuntime& rt, SudogReader& sr,
                                      std::span<const Goroutine> goroutines, size_t max) {
  std::vector<WaitingList> out(goroutines.size());
  std::vector<std::pair<size_t, RemoteAddr>> level, next;
  for (size_t i = 0; i < goroutines.size(); ++i) {
    const Goroutine& g = goroutines[i];
    if ((g.status == kGwaiting || g.status == kGleaked) && g.waiting != 0) {
      level.emplace_back(i, RemoteAddr(g.waiting));
    }
  }
  std::vector<RemoteRange> batch;
  Raw raw;
  for (size_t depth = 0; !level.empty(); ++depth) {
    // A short level is left to single reads: long lists must not become thousands of batches.
    if (rt.memory().captures() && (depth == 0 || level.size() >= kMinPrefetch)) {
      batch.clear();
      for (const auto& [i, at] : level) batch.push_back({at, sr.size()});
      rt.memory().capture(batch);
    }
    next.clear();
    for (const auto& [i, at] : level) {
      WaitingList& w = out[i];
      // Short lists (select cases): a linear check against the sudogs read so far.
      if (w.sudogs.size() >= max || std::any_of(w.sudogs.begin(), w.sudogs.end(),
                                                [&](const Sudog& s) { return s.addr == at; })) {
        w.problem = fmt::format("goroutine {}: g.waiting list too long", goroutines[i].goid);
        continue;
      }
      auto s = sr.read(at, &raw);
      if (!s) {
        w.problem = fmt::format("goroutine {}: sudog {} unreadable", goroutines[i].goid, at);
        continue;
      }
      w.sudogs.push_back(*s);
      if (s->c.is_null()) continue;
      if (RemoteAddr link = sr.link(raw, Fld::kSudogWaitlink); !link.is_null()) {
        next.emplace_back(i, link);
      }
    }
    level.swap(next);
  }
  return out;
}

// Copies the channels in few system calls (a no-op once the target was released).
template <typename Addrs>
void capture_hchans(GoRuntime& rt, const Addrs& chans) {
  auto hchan = rt.layout().size(Typ::kHchan);
  if (!hchan || *hchan > 4096 || !rt.memory().captures()) return;
  std::vector<RemoteRange> ranges;
  ranges.reserve(chans.size());
  for (RemoteAddr c : chans) ranges.push_back({c, *hchan});
  // Channels of pointer-free elements sit in pointer-free spans, which the heap copy skips:
  // 100k of them are copied as the few runs of spans they share, not as 100k iovecs.
  rt.memory().capture(merge_nearby(std::move(ranges)));
}

// Copies the channels, then their queues' sudogs not already kept, in batches.
void capture_channels(GoRuntime& rt, const SudogReader& sr, const std::set<RemoteAddr>& chans,
                      const BlockingLimits& limits) {
  capture_hchans(rt, chans);
  const Layout& l = rt.layout();
  auto hchan = l.size(Typ::kHchan);
  if (!hchan || *hchan > 4096 || !rt.memory().captures()) return;
  std::vector<RemoteAddr> queues;
  for (RemoteAddr c : chans) {
    for (Fld f : {Fld::kHchanRecvqFirst, Fld::kHchanSendqFirst}) {
      if (auto fi = l.field(f); fi && fi->offset + 8 <= *hchan) {
        if (auto q = rt.memory().read_u64(c + fi->offset); q && *q != 0) queues.emplace_back(*q);
      }
    }
  }
  prefetch_lists(rt.memory(), std::move(queues), sr.size(), l.field(Fld::kSudogNext),
                 limits.max_queue);
}

// Every sudog in the semaphore treaps: g -> sudog. Children are prev/next, waiters on the same
// address hang off waitlink.
std::unordered_map<uint64_t, Sudog> walk_semtable(GoRuntime& rt, SudogReader& sr, size_t bound,
                                                  std::vector<std::string>& problems) {
  std::unordered_map<uint64_t, Sudog> out;
  auto table = rt.global(Glob::kSemtable);
  auto size = rt.layout().size(Typ::kSemTable);
  auto treap = rt.layout().field(Fld::kSemaRootTreap);
  if (!table || !size || !treap || *size % kSemTabSize != 0) {
    problems.push_back("runtime.semtable or its layout unknown: semaphore waiters not found");
    return out;
  }
  uint64_t stride = *size / kSemTabSize;
  std::vector<uint8_t> bytes(*size);
  if (!rt.memory().read_exact(*table, bytes)) {
    problems.push_back("runtime.semtable " + rt.memory().why_unreadable(*table, *size));
    return out;
  }
  std::vector<RemoteAddr> todo;
  for (uint64_t i = 0; i < kSemTabSize; ++i) {
    uint64_t v = 0;
    std::memcpy(&v, bytes.data() + i * stride + treap->offset, 8);
    if (v != 0) todo.emplace_back(v);
  }
  std::unordered_set<uint64_t> seen;
  while (!todo.empty()) {
    RemoteAddr at = todo.back();
    todo.pop_back();
    if (at.is_null() || !seen.insert(at.value()).second) continue;
    if (seen.size() > bound) {
      problems.push_back("semaphore treaps larger than the goroutine count: walk truncated");
      break;
    }
    Raw raw;
    auto s = sr.read(at, &raw);
    if (!s) {
      problems.push_back(fmt::format("semaphore sudog {} unreadable", at));
      continue;
    }
    out.emplace(s->g.value(), *s);
    for (Fld f : {Fld::kSudogPrev, Fld::kSudogNext, Fld::kSudogWaitlink}) {
      todo.push_back(sr.link(raw, f));
    }
  }
  return out;
}

}  // namespace

std::string_view block_kind_name(BlockKind k) {
  if (k == BlockKind::kNone) return "";
  for (const Wait& w : kWaits) {
    if (w.kind == k) return w.reason;
  }
  return "";
}

BlockKind classify_block(std::string_view wait_reason, std::span<const std::string> functions) {
  for (const Wait& w : kWaits) {
    if (w.reason == wait_reason) return w.kind;
  }
  if (wait_reason != "semacquire") return BlockKind::kNone;
  for (const std::string& f : functions) {
    for (const auto& [name, kind] : kSyncFrames) {
      if (f == name) return kind;
    }
    if (!f.starts_with("runtime.") && !f.starts_with("sync.")) break;
  }
  return BlockKind::kNone;
}

std::vector<WaitingList> capture_blocking_objects(GoRuntime& rt,
                                                  std::span<const Goroutine> goroutines,
                                                  const BlockingLimits& limits) {
  SudogReader sr(rt);
  if (!sr.ok() || !rt.memory().captures()) return {};
  std::vector<WaitingList> waiting = read_waiting(rt, sr, goroutines, limits.max_sudogs_per_g);
  std::vector<RemoteAddr> chans;
  for (const WaitingList& w : waiting) {
    for (const Sudog& s : w.sudogs) {
      if (!s.c.is_null()) chans.push_back(s.c);
    }
  }
  std::sort(chans.begin(), chans.end());
  chans.erase(std::unique(chans.begin(), chans.end()), chans.end());
  capture_hchans(rt, chans);
  return waiting;
}

bool queued_undisturbed(GoRuntime& rt, const Goroutine& g, const WaitingList& w) {
  const Layout& l = rt.layout();
  auto recvq = l.field(Fld::kHchanRecvqFirst), sendq = l.field(Fld::kHchanSendqFirst);
  if (!w.problem.empty() || w.sudogs.empty() || !recvq || !sendq || !l.field(Fld::kSudogPrev)) {
    return false;
  }
  for (const Sudog& s : w.sudogs) {
    if (s.g != g.g) return false;
    if (s.c.is_null()) continue;  // a semaphore's: no one writes into the waiter's stack
    auto first_recv = rt.memory().read_u64(s.c + recvq->offset);
    auto first_send = rt.memory().read_u64(s.c + sendq->offset);
    if (!first_recv || !first_send) return false;
    if (s.prev.is_null() && *first_recv != s.addr.value() && *first_send != s.addr.value()) {
      return false;  // dequeued: a sender or closer has it
    }
  }
  return true;
}

BlockingSnapshot read_blocking(GoRuntime& rt, std::span<const Goroutine> goroutines,
                               const BlockingLimits& limits) {
  BlockingSnapshot snap;
  SudogReader sr(rt);
  if (!sr.ok()) {
    snap.problems.push_back("runtime.sudog layout unknown: blocking objects not read");
    return snap;
  }
  const Layout& l = rt.layout();
  snap.sudog_elem_offset = l.field(Fld::kSudogElem)->offset;
  snap.sudog_c_offset = l.field(Fld::kSudogC)->offset;
  snap.have_sudog_layout = true;

  std::set<RemoteAddr> chans;
  bool any_sema = false;
  std::vector<WaitingList> waiting = read_waiting(rt, sr, goroutines, limits.max_sudogs_per_g);
  for (size_t i = 0; i < goroutines.size(); ++i) {
    const Goroutine& g = goroutines[i];
    if (g.status != kGwaiting && g.status != kGleaked) continue;
    if (g.waiting == 0) {
      any_sema = true;  // Go < 1.26 semaphores and sync.Cond: not on g.waiting
      continue;
    }
    BlockedG b{g.g, g.goid, std::move(waiting[i].sudogs), "g.waiting"};
    if (!waiting[i].problem.empty()) snap.problems.push_back(std::move(waiting[i].problem));
    for (const Sudog& s : b.sudogs) {
      if (!s.c.is_null()) chans.insert(s.c);
    }
    snap.by_goid.emplace(g.goid, std::move(b));
  }
  if (any_sema) {
    auto sema = walk_semtable(rt, sr, goroutines.size() + 1024, snap.problems);
    for (const Goroutine& g : goroutines) {
      if ((g.status != kGwaiting && g.status != kGleaked) || g.waiting != 0) continue;
      auto it = sema.find(g.g.value());
      if (it == sema.end()) continue;
      snap.by_goid.emplace(g.goid, BlockedG{g.g, g.goid, {it->second}, "semtable"});
    }
  }
  capture_channels(rt, sr, chans, limits);
  for (RemoteAddr c : chans) snap.channels.emplace(c, read_channel(rt, sr, c, limits));
  return snap;
}

std::map<RemoteAddr, Channel> read_waited_channels(GoRuntime& rt,
                                                   std::span<const Goroutine> goroutines,
                                                   const BlockingLimits& limits) {
  std::map<RemoteAddr, Channel> out;
  SudogReader sr(rt);
  if (!sr.ok()) return out;
  // pitfalls reports what it found, not why a list ended
  for (const WaitingList& w : read_waiting(rt, sr, goroutines, limits.max_sudogs_per_g)) {
    for (const Sudog& s : w.sudogs) {
      if (!s.c.is_null() && !out.contains(s.c)) {
        out.emplace(s.c, read_channel(rt, sr, s.c, limits, false));
      }
    }
  }
  return out;
}

std::optional<RemoteAddr> find_notify_list(GoRuntime& rt, RemoteAddr g, uint64_t sp, uint64_t end) {
  const Layout& l = rt.layout();
  auto head = l.field(Fld::kNotifyListHead);
  SudogReader sr(rt);
  if (!head || !sr.ok() || end <= sp || end - sp > 4096) return std::nullopt;
  std::vector<uint8_t> words(end - sp);
  size_t n = rt.memory().read(RemoteAddr(sp), words) / 8;
  for (size_t i = 0; i < n; ++i) {
    uint64_t w = 0;
    std::memcpy(&w, words.data() + i * 8, 8);
    if (w < 4096 || w % 8 != 0) continue;
    // The notify list lies inside the Cond, a few words past a pointer to it.
    for (uint64_t delta = 0; delta <= 32; delta += 8) {
      auto first = rt.memory().read_ptr(RemoteAddr(w + delta + head->offset));
      if (!first) break;
      std::set<RemoteAddr> seen;
      for (RemoteAddr at = *first; !at.is_null() && seen.size() < 100'000;) {
        if (!seen.insert(at).second) break;
        Raw raw;
        auto s = sr.read(at, &raw);
        if (!s) break;
        if (s->g == g) return RemoteAddr(w + delta);
        at = sr.link(raw, Fld::kSudogNext);
      }
    }
  }
  return std::nullopt;
}

}  // namespace ifx
