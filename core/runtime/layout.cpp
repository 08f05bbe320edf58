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
  FieldAt at[4];
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
    {"runtime.m.vdsoSP", {{"runtime.m", "vdsoSP"}}},
    {"runtime.m.vdsoPC", {{"runtime.m", "vdsoPC"}}},
    {"runtime.m.gsignal", {{"runtime.m", "gsignal"}}},
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
    {"runtime.schedt.lastpoll", {{"runtime.schedt", "lastpoll.v"}, {"runtime.schedt", "lastpoll"}}},
    {"runtime.mstats.last_gc_nanotime", {{"runtime.mstats", "last_gc_nanotime"}}},

    // Types and interfaces (pitfalls): add entries here.
    {"internal/abi.Type.Size_", {{"runtime._type", "size"}, {"internal/abi.Type", "Size_"}}},
    {"internal/abi.Type.PtrBytes",
     {{"runtime._type", "ptrdata"}, {"internal/abi.Type", "PtrBytes"}}},
    {"internal/abi.Type.Hash", {{"runtime._type", "hash"}, {"internal/abi.Type", "Hash"}}},
    {"internal/abi.Type.TFlag", {{"runtime._type", "tflag"}, {"internal/abi.Type", "TFlag"}}},
    {"internal/abi.Type.Kind_", {{"runtime._type", "kind"}, {"internal/abi.Type", "Kind_"}}},
    {"internal/abi.Type.GCData", {{"runtime._type", "gcdata"}, {"internal/abi.Type", "GCData"}}},
    {"internal/abi.Type.Str", {{"runtime._type", "str"}, {"internal/abi.Type", "Str"}}},
    {"internal/abi.Type.PtrToThis",
     {{"runtime._type", "ptrToThis"}, {"internal/abi.Type", "PtrToThis"}}},
    {"internal/abi.PtrType.Elem", {{"runtime.ptrtype", "elem"}, {"internal/abi.PtrType", "Elem"}}},
    {"internal/abi.SliceType.Elem",
     {{"runtime.slicetype", "elem"}, {"internal/abi.SliceType", "Elem"}}},
    {"internal/abi.ArrayType.Elem",
     {{"runtime.arraytype", "elem"}, {"internal/abi.ArrayType", "Elem"}}},
    {"internal/abi.ArrayType.Len",
     {{"runtime.arraytype", "len"}, {"internal/abi.ArrayType", "Len"}}},
    {"internal/abi.ChanType.Elem",
     {{"runtime.chantype", "elem"}, {"internal/abi.ChanType", "Elem"}}},
    {"internal/abi.ChanType.Dir", {{"runtime.chantype", "dir"}, {"internal/abi.ChanType", "Dir"}}},
    {"internal/abi.MapType.Key",
     {{"runtime.maptype", "key"},
      {"internal/abi.SwissMapType", "Key"},
      {"internal/abi.MapType", "Key"}}},
    {"internal/abi.MapType.Elem",
     {{"runtime.maptype", "elem"},
      {"internal/abi.SwissMapType", "Elem"},
      {"internal/abi.MapType", "Elem"}}},
    {"internal/abi.StructType.PkgPath",
     {{"runtime.structtype", "pkgPath"}, {"internal/abi.StructType", "PkgPath"}}},
    {"internal/abi.StructType.Fields.array",
     {{"runtime.structtype", "fields.array"}, {"internal/abi.StructType", "Fields.array"}}},
    {"internal/abi.StructType.Fields.len",
     {{"runtime.structtype", "fields.len"}, {"internal/abi.StructType", "Fields.len"}}},
    {"internal/abi.StructField.Name",
     {{"runtime.structfield", "name"}, {"internal/abi.StructField", "Name"}}},
    {"internal/abi.StructField.Typ",
     {{"runtime.structfield", "typ"}, {"internal/abi.StructField", "Typ"}}},
    {"internal/abi.StructField.Offset",
     {{"runtime.structfield", "offset"}, {"internal/abi.StructField", "Offset"}}},
    {"internal/abi.InterfaceType.PkgPath",
     {{"runtime.interfacetype", "pkgpath"}, {"internal/abi.InterfaceType", "PkgPath"}}},
    {"internal/abi.InterfaceType.Methods.array",
     {{"runtime.interfacetype", "mhdr.array"}, {"internal/abi.InterfaceType", "Methods.array"}}},
    {"internal/abi.InterfaceType.Methods.len",
     {{"runtime.interfacetype", "mhdr.len"}, {"internal/abi.InterfaceType", "Methods.len"}}},
    {"internal/abi.Imethod.Name", {{"runtime.imethod", "name"}, {"internal/abi.Imethod", "Name"}}},
    {"internal/abi.Imethod.Typ", {{"runtime.imethod", "ityp"}, {"internal/abi.Imethod", "Typ"}}},
    {"internal/abi.FuncType.InCount",
     {{"runtime.functype", "inCount"}, {"internal/abi.FuncType", "InCount"}}},
    {"internal/abi.FuncType.OutCount",
     {{"runtime.functype", "outCount"}, {"internal/abi.FuncType", "OutCount"}}},
    {"internal/abi.UncommonType.PkgPath",
     {{"runtime.uncommontype", "pkgpath"}, {"internal/abi.UncommonType", "PkgPath"}}},
    {"internal/abi.UncommonType.Mcount",
     {{"runtime.uncommontype", "mcount"}, {"internal/abi.UncommonType", "Mcount"}}},
    {"internal/abi.UncommonType.Xcount",
     {{"runtime.uncommontype", "xcount"}, {"internal/abi.UncommonType", "Xcount"}}},
    {"internal/abi.UncommonType.Moff",
     {{"runtime.uncommontype", "moff"}, {"internal/abi.UncommonType", "Moff"}}},
    {"internal/abi.ITab.Inter", {{"runtime.itab", "inter"}, {"internal/abi.ITab", "Inter"}}},
    {"internal/abi.ITab.Type", {{"runtime.itab", "_type"}, {"internal/abi.ITab", "Type"}}},
    {"runtime.moduledata.types", {{"runtime.moduledata", "types"}}},
    {"runtime.moduledata.etypes", {{"runtime.moduledata", "etypes"}}},
    {"internal/abi.MapType.Group",
     {{"runtime.maptype", "bucket"},
      {"internal/abi.MapType", "Bucket"},
      {"internal/abi.SwissMapType", "Group"},
      {"internal/abi.MapType", "Group"}}},
    {"runtime.hmap.count", {{"runtime.hmap", "count"}}},
    {"runtime.hmap.B", {{"runtime.hmap", "B"}}},
    {"runtime.hmap.buckets", {{"runtime.hmap", "buckets"}}},
    {"runtime.hmap.oldbuckets", {{"runtime.hmap", "oldbuckets"}}},
    {"internal/runtime/maps.Map.used", {{"internal/runtime/maps.Map", "used"}}},
    {"internal/runtime/maps.Map.dirPtr", {{"internal/runtime/maps.Map", "dirPtr"}}},
    {"internal/runtime/maps.Map.dirLen", {{"internal/runtime/maps.Map", "dirLen"}}},
    {"internal/runtime/maps.table.groups.data", {{"internal/runtime/maps.table", "groups.data"}}},
    {"internal/runtime/maps.table.groups.lengthMask",
     {{"internal/runtime/maps.table", "groups.lengthMask"}}},

    // Heap: arenas, spans, bitmaps (leaks): add entries here.
    {"runtime.mheap.allspans.array", {{"runtime.mheap", "allspans.array"}}},
    {"runtime.mheap.allspans.len", {{"runtime.mheap", "allspans.len"}}},
    {"runtime.mheap.arenas", {{"runtime.mheap", "arenas"}}},
    {"runtime.heapArena.bitmap", {{"runtime.heapArena", "bitmap"}}},
    {"runtime.mspan.startAddr", {{"runtime.mspan", "startAddr"}}},
    {"runtime.mspan.npages", {{"runtime.mspan", "npages"}}},
    {"runtime.mspan.freeindex", {{"runtime.mspan", "freeindex"}}},
    {"runtime.mspan.nelems", {{"runtime.mspan", "nelems"}}},
    {"runtime.mspan.allocBits", {{"runtime.mspan", "allocBits"}}},
    {"runtime.mspan.spanclass", {{"runtime.mspan", "spanclass"}}},
    {"runtime.mspan.state", {{"runtime.mspan", "state.s"}}},
    {"runtime.mspan.elemsize", {{"runtime.mspan", "elemsize"}}},
    {"runtime.mspan.specials", {{"runtime.mspan", "specials"}}},
    {"runtime.mspan.largeType", {{"runtime.mspan", "largeType"}}},
    {"runtime.mspan.allocCount", {{"runtime.mspan", "allocCount"}}},
    {"runtime.special.next", {{"runtime.special", "next"}}},
    {"runtime.special.offset", {{"runtime.special", "offset"}}},
    {"runtime.special.kind", {{"runtime.special", "kind"}}},
    {"runtime.specialfinalizer.fn", {{"runtime.specialfinalizer", "fn"}}},
    {"runtime.specialCleanup.fn", {{"runtime.specialCleanup", "fn"}}},
    {"runtime.specialWeakHandle.handle", {{"runtime.specialWeakHandle", "handle"}}},
    {"runtime.moduledata.data", {{"runtime.moduledata", "data"}}},
    {"runtime.moduledata.edata", {{"runtime.moduledata", "edata"}}},
    {"runtime.moduledata.bss", {{"runtime.moduledata", "bss"}}},
    {"runtime.moduledata.ebss", {{"runtime.moduledata", "ebss"}}},
    {"runtime.moduledata.gcdatamask.bytedata", {{"runtime.moduledata", "gcdatamask.bytedata"}}},
    {"runtime.moduledata.gcbssmask.bytedata", {{"runtime.moduledata", "gcbssmask.bytedata"}}},
    {"runtime.moduledata.next", {{"runtime.moduledata", "next"}}},
    {"runtime.moduledata.rodata", {{"runtime.moduledata", "rodata"}}},
    {"runtime.g._defer", {{"runtime.g", "_defer"}}},
    {"runtime.g._panic", {{"runtime.g", "_panic"}}},
    {"runtime._defer.fn", {{"runtime._defer", "fn"}}},
    {"runtime._defer.link", {{"runtime._defer", "link"}}},
    {"runtime._defer.heap", {{"runtime._defer", "heap"}}},
    {"runtime.finblock.alllink",
     {{"runtime.finblock", "alllink"}, {"runtime.finBlock", "alllink"}}},
    {"runtime.finblock.cnt", {{"runtime.finblock", "cnt"}, {"runtime.finBlock", "cnt"}}},
    {"runtime.finblock.fin", {{"runtime.finblock", "fin"}, {"runtime.finBlock", "fin"}}},
    {"runtime.cleanupQueue.all", {{"runtime.cleanupQueue", "all"}}},
    {"runtime.cleanupBlock.alllink", {{"runtime.cleanupBlock", "cleanupBlockHeader.alllink"}}},
    {"runtime.cleanupBlock.n", {{"runtime.cleanupBlock", "cleanupBlockHeader.n"}}},
    {"runtime.cleanupBlock.cleanups", {{"runtime.cleanupBlock", "cleanups"}}},

    // Blocking objects: channels, sudogs, semaphores (leaks): add entries here.
    {"runtime.hchan.qcount", {{"runtime.hchan", "qcount"}}},
    {"runtime.hchan.dataqsiz", {{"runtime.hchan", "dataqsiz"}}},
    {"runtime.hchan.elemsize", {{"runtime.hchan", "elemsize"}}},
    {"runtime.hchan.closed", {{"runtime.hchan", "closed"}}},
    {"runtime.hchan.elemtype", {{"runtime.hchan", "elemtype"}}},
    {"runtime.hchan.buf", {{"runtime.hchan", "buf"}}},
    {"runtime.hchan.recvx", {{"runtime.hchan", "recvx"}}},
    {"runtime.hchan.recvq.first", {{"runtime.hchan", "recvq.first"}}},
    {"runtime.hchan.sendq.first", {{"runtime.hchan", "sendq.first"}}},
    {"runtime.sudog.g", {{"runtime.sudog", "g"}}},
    {"runtime.sudog.next", {{"runtime.sudog", "next"}}},
    {"runtime.sudog.prev", {{"runtime.sudog", "prev"}}},
    {"runtime.sudog.elem", {{"runtime.sudog", "elem.vp"}, {"runtime.sudog", "elem"}}},
    {"runtime.sudog.elem.vu", {{"runtime.sudog", "elem.vu"}}},
    {"runtime.sudog.ticket", {{"runtime.sudog", "ticket"}}},
    {"runtime.sudog.isSelect", {{"runtime.sudog", "isSelect"}}},
    {"runtime.sudog.parent", {{"runtime.sudog", "parent"}}},
    {"runtime.sudog.waitlink", {{"runtime.sudog", "waitlink"}}},
    {"runtime.sudog.c", {{"runtime.sudog", "c.maybeTraceablePtr.vp"}, {"runtime.sudog", "c"}}},
    {"runtime.sudog.c.vu", {{"runtime.sudog", "c.maybeTraceablePtr.vu"}}},
    {"runtime.semaRoot.treap", {{"runtime.semaRoot", "treap"}}},
    {"runtime.semaRoot.nwait", {{"runtime.semaRoot", "nwait"}}},
    {"runtime.notifyList.head", {{"runtime.notifyList", "head"}}},
    {"runtime.notifyList.tail", {{"runtime.notifyList", "tail"}}},
};
static_assert(std::size(kFieldSpecs) == static_cast<size_t>(Fld::kCount));

// Each runtime type with the names it has had, newest last; the first names it in reports.
struct TypeSpec {
  std::string_view names[3];
};

constexpr TypeSpec kTypeNames[] = {
    {{"runtime.g"}},
    {{"runtime.m"}},
    {{"runtime.p"}},

    // Types and interfaces (pitfalls): add entries here.
    {{"internal/abi.Type", "runtime._type"}},
    {{"internal/abi.PtrType", "runtime.ptrtype"}},
    {{"internal/abi.SliceType", "runtime.slicetype"}},
    {{"internal/abi.ArrayType", "runtime.arraytype"}},
    {{"internal/abi.ChanType", "runtime.chantype"}},
    {{"internal/abi.MapType", "runtime.maptype", "internal/abi.SwissMapType"}},
    {{"internal/abi.StructType", "runtime.structtype"}},
    {{"internal/abi.StructField", "runtime.structfield"}},
    {{"internal/abi.InterfaceType", "runtime.interfacetype"}},
    {{"internal/abi.Imethod", "runtime.imethod"}},
    {{"internal/abi.FuncType", "runtime.functype"}},
    {{"internal/abi.UncommonType", "runtime.uncommontype"}},

    // Heap: arenas, spans, bitmaps (leaks): add entries here.
    {{"runtime.mspan"}},
    {{"runtime._panic"}},
    {{"runtime.cleanupFn"}},

    // Blocking objects: channels, sudogs, semaphores (leaks): add entries here.
    {{"runtime.hchan"}},
    {{"runtime.sudog"}},
    {{"runtime.semTable"}},
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
    {{"runtime.allfin"}},
    {{"runtime.gcCleanups"}},

    // Blocking objects: channels, sudogs, semaphores (leaks): add entries here.
    {{"runtime.semtable"}},
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
