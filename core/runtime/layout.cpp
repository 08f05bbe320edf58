// Field specs (type and path, in the runtime's own names) and the DWARF side of Layout.
#include "core/runtime/layout.h"

namespace ifx {
namespace {

// Where a field lives: a struct type and a dotted field path, in the runtime's own names.
struct FieldAt {
  std::string_view type;
  std::string_view path;
};

// A field with every (type, path) it has had across Go versions, newest last (e.g. runtime._type
// "size" became internal/abi.Type "Size_"); name is how reports and tables call it.
struct FieldSpec {
  std::string_view name;
  FieldAt at[2];
};

constexpr FieldSpec kFieldSpecs[] = {
    {"runtime.g.stack.lo", {{"runtime.g", "stack.lo"}}},
    {"runtime.g.stack.hi", {{"runtime.g", "stack.hi"}}},
    {"runtime.g.m", {{"runtime.g", "m"}}},
    {"runtime.g.sched.sp", {{"runtime.g", "sched.sp"}}},
    {"runtime.g.sched.pc", {{"runtime.g", "sched.pc"}}},
    {"runtime.g.sched.bp", {{"runtime.g", "sched.bp"}}},
    {"runtime.g.sched.ctxt", {{"runtime.g", "sched.ctxt"}}},
    {"runtime.g.syscallsp", {{"runtime.g", "syscallsp"}}},
    {"runtime.g.syscallpc", {{"runtime.g", "syscallpc"}}},
    {"runtime.g.atomicstatus", {{"runtime.g", "atomicstatus"}}},
    {"runtime.g.goid", {{"runtime.g", "goid"}}},
    {"runtime.g.waitsince", {{"runtime.g", "waitsince"}}},
    {"runtime.g.waitreason", {{"runtime.g", "waitreason"}}},
    {"runtime.g.lockedm", {{"runtime.g", "lockedm"}}},
    {"runtime.g.parentGoid", {{"runtime.g", "parentGoid"}}},
    {"runtime.g.gopc", {{"runtime.g", "gopc"}}},
    {"runtime.g.startpc", {{"runtime.g", "startpc"}}},
    {"runtime.g.waiting", {{"runtime.g", "waiting"}}},
    {"runtime.g.labels", {{"runtime.g", "labels"}}},
    {"runtime.m.g0", {{"runtime.m", "g0"}}},
    {"runtime.m.curg", {{"runtime.m", "curg"}}},
    {"runtime.m.procid", {{"runtime.m", "procid"}}},
    {"runtime.m.id", {{"runtime.m", "id"}}},
    {"runtime.m.p", {{"runtime.m", "p"}}},
    {"runtime.m.alllink", {{"runtime.m", "alllink"}}},
    {"runtime.p.id", {{"runtime.p", "id"}}},
    {"runtime.p.status", {{"runtime.p", "status"}}},
    {"runtime.p.gFree.n", {{"runtime.p", "gFree.n"}}},
    {"runtime.p.gFree.size", {{"runtime.p", "gFree.size"}}},
    {"runtime.schedt.gFree.n", {{"runtime.schedt", "gFree.n"}}},
    {"runtime.schedt.gFree.stack.size", {{"runtime.schedt", "gFree.stack.size"}}},
    {"runtime.schedt.gFree.noStack.size", {{"runtime.schedt", "gFree.noStack.size"}}},
    {"runtime.schedt.ngsys", {{"runtime.schedt", "ngsys"}}},
    {"runtime.mstats.numgc", {{"runtime.mstats", "numgc"}}},
    {"runtime.mstats.pause_total_ns", {{"runtime.mstats", "pause_total_ns"}}},
    {"runtime.mstats.last_gc_unix", {{"runtime.mstats", "last_gc_unix"}}},
    {"runtime.mheap.pagesInUse", {{"runtime.mheap", "pagesInUse"}}},
    {"runtime.gcControllerState.heapLive", {{"runtime.gcControllerState", "heapLive"}}},
    {"runtime.gcControllerState.heapMarked", {{"runtime.gcControllerState", "heapMarked"}}},

    // Types and interfaces (pitfalls): add entries here.

    // Heap: arenas, spans, bitmaps (leaks): add entries here.

    // Blocking objects: channels, sudogs, semaphores (leaks): add entries here.
};
static_assert(std::size(kFieldSpecs) == static_cast<size_t>(Fld::kCount));

// Each runtime type with the names it has had, newest last; the first names it in reports.
struct TypeSpec {
  std::string_view names[2];
};

constexpr TypeSpec kTypeNames[] = {
    {{"runtime.g"}}, {{"runtime.m"}}, {{"runtime.p"}},

    // Types and interfaces (pitfalls): add entries here.

    // Heap: arenas, spans, bitmaps (leaks): add entries here.

    // Blocking objects: channels, sudogs, semaphores (leaks): add entries here.
};
static_assert(std::size(kTypeNames) == static_cast<size_t>(Typ::kCount));

// Each global with the names it has had, newest last.
struct GlobalSpec {
  std::string_view names[2];
};

constexpr GlobalSpec kGlobalNames[] = {
    {{"runtime.allgs"}},
    {{"runtime.allglen"}},
    {{"runtime.allm"}},
    {{"runtime.allp"}},
    {{"runtime.sched"}},
    {{"runtime.gomaxprocs"}},
    {{"runtime.ncpu", "runtime.numCPUStartup"}},  // renamed in Go 1.26
    {{"runtime.memstats"}},
    {{"runtime.mheap_"}},
    {{"runtime.gcController"}},
    {{"runtime.waitReasonStrings"}},

    // Types and interfaces (pitfalls): add entries here.

    // Heap: arenas, spans, bitmaps (leaks): add entries here.

    // Blocking objects: channels, sudogs, semaphores (leaks): add entries here.
};
static_assert(std::size(kGlobalNames) == static_cast<size_t>(Glob::kCount));

}  // namespace

std::string_view field_name(Fld f) {
  return kFieldSpecs[static_cast<size_t>(f)].name;
}
std::string_view type_name(Typ t) {
  return kTypeNames[static_cast<size_t>(t)].names[0];
}
std::string_view global_name(Glob g) {
  return kGlobalNames[static_cast<size_t>(g)].names[0];
}

std::vector<std::string_view> global_names(Glob g) {
  std::vector<std::string_view> out;
  for (std::string_view n : kGlobalNames[static_cast<size_t>(g)].names) {
    if (!n.empty()) out.push_back(n);
  }
  return out;
}

Layout layout_from_dwarf(const DwarfTypes& dwarf) {
  Layout l;
  l.source = "DWARF";
  for (size_t i = 0; i < std::size(kFieldSpecs); ++i) {
    for (const FieldAt& at : kFieldSpecs[i].at) {
      if (at.type.empty()) break;
      if (auto f = dwarf.field(at.type, at.path)) {
        l.set(static_cast<Fld>(i), f);
        break;
      }
    }
  }
  for (size_t i = 0; i < std::size(kTypeNames); ++i) {
    for (std::string_view n : kTypeNames[i].names) {
      if (n.empty()) break;
      if (auto size = dwarf.type_size(n)) {
        l.set(static_cast<Typ>(i), size);
        break;
      }
    }
  }
  return l;
}

}  // namespace ifx
