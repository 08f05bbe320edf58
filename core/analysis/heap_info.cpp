// Runs the heap model end to end on a snapshot and summarises it.
#include "core/analysis/heap_info.h"

#include <chrono>

namespace ifx {
namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

report::HeapRoot to_report(const Root& r) {
  return {std::string(root_kind_name(r.kind)),
          r.where(),
          r.slot.value(),
          r.value.value(),
          r.goid,
          r.conservative};
}

}  // namespace

report::HeapModel describe_heap(GoRuntime& rt, const HeapIndex& heap,
                                std::span<const Goroutine> goroutines,
                                const std::vector<uint64_t>& queries) {
  report::HeapModel m;
  m.spans = heap.spans().size();
  for (const auto& s : heap.spans()) {
    if (!s.noscan()) ++m.scan_spans;
    m.span_bytes += s.bytes();
  }
  m.objects = heap.object_count();
  m.object_bytes = heap.object_bytes();
  m.copied_bytes = heap.capture().copied_bytes;
  m.capture_ms = heap.capture().capture_ms;
  auto t0 = std::chrono::steady_clock::now();
  heap.for_each_object([&](const HeapObject& o) {
    heap.for_each_pointer(o, [&](RemoteAddr, RemoteAddr) { ++m.pointers; });
  });
  m.scan_ms = ms_since(t0);
  m.conservative_objects = heap.conservative_objects();
  t0 = std::chrono::steady_clock::now();
  RootSet roots = collect_roots(rt, heap, goroutines, RootOptions{});
  m.roots_ms = ms_since(t0);
  for (const Root& r : roots.roots) ++m.roots[std::string(root_kind_name(r.kind))];
  m.conservative_goroutines = roots.conservative_goroutines.size();
  for (uint64_t q : queries) {
    report::HeapObjectQuery out;
    out.address = q;
    if (auto o = heap.object_at(RemoteAddr(q))) {
      out.found = true;
      out.base = o->base.value();
      out.size = o->size;
      out.noscan = heap.spans()[o->span].noscan();
      out.mspan = heap.spans()[o->span].span_struct.value();
      heap.for_each_pointer(*o, [&](RemoteAddr slot, RemoteAddr value) {
        out.pointers.emplace_back(slot - o->base, value.value());
      });
      for (const Root& r : roots.roots) {
        if (r.value >= o->base && r.value - o->base < o->size) out.roots.push_back(to_report(r));
      }
    }
    m.queries.push_back(std::move(out));
  }
  m.problems = heap.problems();
  m.problems.insert(m.problems.end(), roots.problems.begin(), roots.problems.end());
  constexpr size_t kMaxShown = 200;
  if (m.problems.size() > kMaxShown) {
    size_t more = m.problems.size() - kMaxShown;
    m.problems.resize(kMaxShown);
    m.problems.push_back(fmt::format("... and {} more", more));
  }
  return m;
}

}  // namespace ifx
