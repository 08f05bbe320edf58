// The fixed point of the leak proof over the heap model (core/heap). Built without the heap model,
// the proof says why it did not run and the report says "unknown".
#include "core/analysis/leak_proof.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#if __has_include("core/heap/heap.h")
#include "core/heap/heap.h"
#define IFXRAY_HAVE_HEAP 1
#endif

namespace ifx {

#ifndef IFXRAY_HAVE_HEAP

struct HeapSnapshot {};
void HeapSnapshotDeleter::operator()(HeapSnapshot* h) const {
  delete h;
}

HeapSnapshotPtr capture_heap_for_proof(GoRuntime& /*rt*/, std::span<const Goroutine> /*goroutines*/,
                                       std::string& why, HeapCaptureFigures& figures,
                                       SpanPreread* /*preread*/) {
  why = "this build has no heap model";
  figures = {};
  return nullptr;
}

uint64_t estimate_proof_capture_bytes(GoRuntime& /*rt*/, std::shared_ptr<SpanPreread>* /*keep*/) {
  return 0;
}

ProofResult prove_leaks(GoRuntime& /*rt*/, HeapSnapshot* /*heap*/,
                        std::span<const Goroutine> /*goroutines*/,
                        std::span<const ProofCandidate> /*candidates*/,
                        const std::function<bool(uint64_t)>& /*want_path*/) {
  ProofResult r;
  r.why_not = "this build has no heap model";
  return r;
}

#else

struct HeapSnapshot {
  HeapCapture capture;
};
void HeapSnapshotDeleter::operator()(HeapSnapshot* h) const {
  delete h;
}

HeapSnapshotPtr capture_heap_for_proof(GoRuntime& rt, std::span<const Goroutine> goroutines,
                                       std::string& why, HeapCaptureFigures& figures,
                                       SpanPreread* preread) {
  auto t0 = std::chrono::steady_clock::now();
  HeapOptions opts;
  opts.copy_on_demand_masks = false;  // leaks reads them after the stop (late reads)
  HeapSnapshotPtr h(new HeapSnapshot{capture_heap(rt, opts, goroutines, preread)});
  figures.ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  figures.copy_ms = h->capture.copy_ms;
  figures.copy_bytes = h->capture.copied_bytes;
  figures.spans_reused = h->capture.spans_reused;
  figures.spans_decoded = h->capture.spans_decoded;
  if (h->capture.spans.empty()) {
    why = "no heap spans could be read";
    for (const auto& p : h->capture.problems) why += "; " + p;
    return nullptr;
  }
  return h;
}

uint64_t estimate_proof_capture_bytes(GoRuntime& rt, std::shared_ptr<SpanPreread>* keep) {
  if (keep == nullptr) return estimate_heap_capture_bytes(rt, HeapOptions{});
  *keep = std::make_shared<SpanPreread>();
  return estimate_heap_capture_bytes(rt, HeapOptions{}, keep->get());
}

namespace {

constexpr uint64_t kRootTag = uint64_t{1} << 63;

// Marks objects breadth first, keeping for each one what reached it first (a parent object or a
// root), so that a path from the roots is the shortest one.
class Marker {
 public:
  Marker(const HeapIndex& heap, const std::unordered_set<uint64_t>& hidden)
      : heap_(heap), hidden_(hidden) {
    const auto& spans = heap.spans();
    first_.reserve(spans.size() + 1);
    uint64_t n = 0;
    for (const auto& s : spans) {
      first_.push_back(n);
      n += s.nelems;
    }
    first_.push_back(n);
    parent_.assign(n, 0);
    watched_.assign(n, false);
    skipped_ = heap.skipped_ranges();
  }

  // Remember when o gets marked (take_hits), so that the fixed point looks only at the objects
  // goroutines wait on that were reached, not at every blocked goroutine each round.
  void watch(const HeapObject& o) { watched_[index(o)] = true; }
  std::vector<uint64_t> take_hits() { return std::exchange(hits_, {}); }

  uint64_t index(const HeapObject& o) const { return first_[o.span] + o.index; }
  bool marked(const HeapObject& o) const { return parent_[index(o)] != 0; }

  // value: a pointer word; from: kRootTag|root index, or parent index + 1.
  void mark(RemoteAddr value, uint64_t from) {
    if (value.is_null()) return;
    auto o = heap_.object_at(value);
    if (!o) {
      for (const auto& r : skipped_) {
        if (r.contains(value)) into_skipped_ = true;
      }
      return;
    }
    uint64_t i = index(*o);
    if (i >= parent_.size() || parent_[i] != 0) return;
    parent_[i] = from;
    if (watched_[i]) hits_.push_back(i);
    queue_.push_back(*o);
    ++marked_count_;
    marked_bytes_ += o->size;
  }

  void drain() {
    // Breadth first: the queue only grows at its end while its head is scanned.
    for (size_t head = 0; head < queue_.size(); ++head) {
      HeapObject o = queue_[head];
      uint64_t from = index(o) + 1;
      if (hidden_.empty()) {
        heap_.for_each_pointer(o,
                               [&](RemoteAddr /*slot*/, RemoteAddr value) { mark(value, from); });
      } else {
        heap_.for_each_pointer(o, [&](RemoteAddr slot, RemoteAddr value) {
          if (hidden_.count(slot.value()) != 0) return;
          mark(value, from);
        });
      }
    }
    queue_.clear();
  }

  std::optional<HeapObject> object_at(RemoteAddr a) const { return heap_.object_at(a); }
  uint64_t parent(const HeapObject& o) const { return parent_[index(o)]; }
  // The object with global index i.
  HeapObject object(uint64_t i) const {
    size_t span =
        static_cast<size_t>(std::upper_bound(first_.begin(), first_.end(), i) - first_.begin() - 1);
    const HeapSpan& s = heap_.spans()[span];
    HeapObject o;
    o.span = static_cast<uint32_t>(span);
    o.index = static_cast<uint32_t>(i - first_[span]);
    o.size = s.elemsize;
    o.base = s.start + o.index * s.elemsize;
    return o;
  }
  bool into_skipped() const { return into_skipped_; }
  uint64_t marked_bytes() const { return marked_bytes_; }

 private:
  const HeapIndex& heap_;
  const std::unordered_set<uint64_t>& hidden_;
  std::vector<uint64_t> first_;   // first global index of each span
  std::vector<uint64_t> parent_;  // 0: unmarked
  std::vector<bool> watched_;
  std::vector<uint64_t> hits_;  // watched objects marked since the last take_hits
  std::vector<HeapObject> queue_;
  std::vector<RemoteRange> skipped_;
  bool into_skipped_ = false;
  uint64_t marked_count_ = 0, marked_bytes_ = 0;
};

// The allocation's own type record, where the runtime keeps one (Go 1.22+): the header word of
// objects above 512 bytes in small spans, mspan.largeType for large ones.
void allocation_type(GoRuntime& rt, const HeapIndex& heap, const HeapObject& obj, PathObject& out) {
  constexpr uint64_t kMinSizeForMallocHeader = 512;
  if (heap.capture().go_minor < 22 || obj.span >= heap.spans().size()) return;
  const HeapSpan& s = heap.spans()[obj.span];
  if (s.noscan()) return;
  if (s.large()) {
    out.alloc_type = s.large_type;
  } else if (s.elemsize > kMinSizeForMallocHeader) {
    uint64_t word = 0;
    if (rt.memory().read_exact(obj.base, std::span(reinterpret_cast<uint8_t*>(&word), 8))) {
      out.alloc_type = RemoteAddr(word);
      out.data_offset = 8;
    }
  }
}

PathRoot path_root(const Root& r) {
  PathRoot out;
  out.kind = (r.kind == RootKind::kData || r.kind == RootKind::kBss) ? PathRoot::kGlobal
             : r.kind == RootKind::kStack                            ? PathRoot::kStack
                                                                     : PathRoot::kOther;
  out.slot = r.slot;
  out.value = r.value;
  out.goid = r.goid;
  out.name = r.name;
  out.offset = r.offset;
  out.where = r.where();
  return out;
}

// Root → object → ... → the target: for each object, the word that led to it and the word of it
// that leads on.
RawPath path_to(GoRuntime& rt, const HeapIndex& heap, const Marker& m, const RootSet& roots,
                const HeapObject& target) {
  RawPath out;
  std::vector<HeapObject> rev{target};
  for (size_t hops = 0; hops < 10'000; ++hops) {
    uint64_t p = m.parent(rev.back());
    if (p == 0) break;
    if ((p & kRootTag) != 0) {
      out.root = path_root(roots.roots[p & ~kRootTag]);
      break;
    }
    rev.push_back(m.object(p - 1));
  }
  RemoteAddr pointer = out.root.value;
  for (size_t i = rev.size(); i-- > 0;) {
    PathObject o;
    o.base = rev[i].base;
    o.size = rev[i].size;
    o.pointer = pointer;
    allocation_type(rt, heap, rev[i], o);
    if (i > 0) {
      const HeapObject& next = rev[i - 1];
      heap.for_each_pointer(rev[i], [&](RemoteAddr slot, RemoteAddr value) {
        if (!o.next_slot && value >= next.base && value - next.base < next.size) {
          o.next_slot = slot - rev[i].base;
          pointer = value;
        }
      });
    }
    out.objects.push_back(o);
  }
  return out;
}

}  // namespace

ProofResult prove_leaks(GoRuntime& rt, HeapSnapshot* snap, std::span<const Goroutine> goroutines,
                        std::span<const ProofCandidate> candidates,
                        const std::function<bool(uint64_t)>& want_path) {
  ProofResult r;
  if (snap == nullptr) {
    r.why_not = "the heap was not captured";
    return r;
  }
  auto t0 = std::chrono::steady_clock::now();
  HeapIndex heap(rt, std::move(snap->capture));
  RootSet roots = collect_roots(rt, heap, goroutines, RootOptions{});
  r.problems = heap.problems();
  r.problems.insert(r.problems.end(), roots.problems.begin(), roots.problems.end());
  r.heap_objects = heap.object_count();
  r.heap_bytes = heap.object_bytes();

  std::unordered_set<uint64_t> hidden;
  std::unordered_map<uint64_t, const ProofCandidate*> pending;  // goid -> blocked, not yet live
  for (const ProofCandidate& c : candidates) {
    for (RemoteAddr h : c.hidden) hidden.insert(h.value());
    if (c.object_known) pending.emplace(c.goid, &c);
  }
  // Stack and runtime roots by goroutine; the others (globals, specials) start the mark.
  std::unordered_map<int64_t, std::vector<size_t> > by_goid;
  Marker m(heap, hidden);
  // Who waits on which heap object; a goroutine waiting on something outside the heap is live
  // from the first round on.
  std::unordered_map<uint64_t, std::vector<uint64_t> > waiters;  // object index -> goids
  std::vector<uint64_t> woken;
  for (const auto& [goid, c] : pending) {
    if (blocks_forever(c->kind)) continue;
    bool outside = false;
    for (RemoteAddr obj : c->objects) {
      auto o = m.object_at(obj);
      if (!o) {
        outside = true;
        continue;
      }
      m.watch(*o);
      waiters[m.index(*o)].push_back(goid);
    }
    if (outside) woken.push_back(goid);
  }
  for (size_t i = 0; i < roots.roots.size(); ++i) {
    const Root& root = roots.roots[i];
    if (root.goid >= 0 && pending.count(static_cast<uint64_t>(root.goid)) != 0) {
      by_goid[root.goid].push_back(i);
    } else {
      m.mark(root.value, kRootTag | i);
    }
  }
  // Rounds: mark all that is reachable, then wake the goroutines whose object was reached (or
  // is not in the heap), mark from their roots, repeat. Linear: each object is watched, hit and
  // woken once.
  for (;;) {
    m.drain();
    for (uint64_t i : m.take_hits()) {
      for (uint64_t goid : waiters[i]) woken.push_back(goid);
    }
    std::sort(woken.begin(), woken.end());
    woken.erase(std::unique(woken.begin(), woken.end()), woken.end());
    std::erase_if(woken, [&](uint64_t goid) { return pending.count(goid) == 0; });
    if (woken.empty()) break;
    for (uint64_t goid : std::exchange(woken, {})) {
      const ProofCandidate* c = pending[goid];
      bool reached = false;
      for (RemoteAddr obj : c->objects) {
        auto o = m.object_at(obj);
        reached = reached || (o && m.marked(*o));
      }
      r.object_marked[goid] = reached;
      pending.erase(goid);
      for (size_t i : by_goid[static_cast<int64_t>(goid)]) {
        m.mark(roots.roots[i].value, kRootTag | i);
      }
    }
  }
  uint64_t live_bytes = m.marked_bytes();
  // What the mark may have missed makes every proof uncertain.
  std::string doubt;
  if (m.into_skipped()) doubt = "pointers lead into heap spans whose metadata is unusable";
  if (heap.capture().skipped_unbounded) {
    doubt = "an in-use heap span's metadata is corrupt and its extent unknown";
  }
  for (int64_t goid : roots.conservative_goroutines) {
    if (pending.count(static_cast<uint64_t>(goid)) == 0 && doubt.empty()) {
      doubt =
          fmt::format("goroutine {} (may run) has a stack that was not scanned precisely", goid);
    }
  }
  for (const auto& [goid, c] : pending) {
    if (!doubt.empty() && !blocks_forever(c->kind)) {
      r.unknown[goid] = doubt;
    } else {
      r.leaked.insert(goid);
    }
  }
  for (const ProofCandidate& c : candidates) {
    if (!c.object_known) r.unknown[c.goid] = "what it waits on could not be read";
  }
  // Paths for the live ones asked about.
  for (const ProofCandidate& c : candidates) {
    if (r.leaked.count(c.goid) != 0 || !want_path(c.goid)) continue;
    for (RemoteAddr obj : c.objects) {
      auto o = m.object_at(obj);
      if (o && m.marked(*o)) {
        r.paths[c.goid] = path_to(rt, heap, m, roots, *o);
        r.paths[c.goid].waited = obj;
        break;
      }
    }
  }
  // Bytes held only by the leaked: what their stacks reach beyond the live heap.
  for (uint64_t goid : r.leaked) {
    for (size_t i : by_goid[static_cast<int64_t>(goid)]) {
      m.mark(roots.roots[i].value, kRootTag | i);
    }
    if (const ProofCandidate* c = pending[goid]) {
      for (RemoteAddr obj : c->objects) m.mark(obj, 0 | kRootTag);
    }
  }
  m.drain();
  r.held_bytes = m.marked_bytes() - live_bytes;
  for (const ProofCandidate& c : candidates) {
    for (RemoteAddr obj : c.objects) {
      ObjectInfo info;
      if (auto o = heap.object_at(obj)) info = {true, o->base.value(), o->size};
      r.objects[obj.value()] = info;
    }
  }
  r.ran = true;
  r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

#endif

}  // namespace ifx
