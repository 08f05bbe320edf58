// The runtime's struct layouts and globals that ifxray reads, taken from the binary's DWARF, or
// for stripped binaries from a built-in table for its Go version (checked against DWARF by a
// test). A field the version does not have is absent, never guessed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/binary/go_version.h"
#include "core/runtime/dwarf_types.h"

namespace ifx {

// Fields, by the runtime's own names. Keep kFieldSpecs (layout.cpp) in the same order; each
// area (goroutines, types, heap, blocking objects) adds its entries in its own section.
enum class Fld : uint8_t {
  kGStackLo,
  kGStackHi,
  kGM,
  kGSchedSp,
  kGSchedPc,
  kGSchedBp,
  kGSchedCtxt,
  kGSyscallSp,
  kGSyscallPc,
  kGAtomicStatus,
  kGGoid,
  kGWaitSince,
  kGWaitReason,
  kGLockedM,
  kGParentGoid,
  kGGopc,
  kGStartPc,
  kGWaiting,
  kGLabels,
  kMG0,
  kMCurG,
  kMProcId,
  kMId,
  kMP,
  kMAllLink,
  kMVdsoSP,  // set while the thread is in a vDSO call: the goroutine's sp and pc before it
  kMVdsoPC,
  kMGsignal,  // the g whose stack the thread's signal handlers run on
  kPId,
  kPStatus,
  kPGFreeN,     // Go 1.19: p.gFree.n
  kPGFreeSize,  // Go 1.2x: p.gFree.size
  kSchedGFreeN,
  kSchedGFreeStackSize,
  kSchedGFreeNoStackSize,
  kSchedNGsys,
  kMstatsNumGC,
  kMstatsPauseTotalNs,
  kMstatsLastGCUnix,
  kMheapPagesInUse,
  kGcHeapLive,
  kGcHeapMarked,
  kSchedLastPoll,         // nanotime of the last network poll: a "now" for cores
  kMstatsLastGCNanotime,  // nanotime at the end of the last GC

  // Types and interfaces (pitfalls): add entries here.
  kTypeSize,
  kTypePtrBytes,
  kTypeHash,
  kTypeTFlag,
  kTypeKind,
  kTypeGCData,
  kTypeStr,
  kTypePtrToThis,
  kPtrTypeElem,
  kSliceTypeElem,
  kArrayTypeElem,
  kArrayTypeLen,
  kChanTypeElem,
  kChanTypeDir,
  kMapTypeKey,
  kMapTypeElem,
  kStructTypePkgPath,
  kStructTypeFields,
  kStructTypeFieldsLen,
  kStructFieldName,
  kStructFieldTyp,
  kStructFieldOffset,
  kInterfaceTypePkgPath,
  kInterfaceTypeMethods,
  kInterfaceTypeMethodsLen,
  kImethodName,
  kImethodTyp,
  kFuncTypeInCount,
  kFuncTypeOutCount,
  kUncommonTypePkgPath,
  kUncommonTypeMcount,
  kUncommonTypeXcount,
  kUncommonTypeMoff,
  kItabInter,
  kItabType,
  kModuledataTypes,
  kModuledataEtypes,
  kMapTypeGroup,
  kHmapCount,
  kHmapB,
  kHmapBuckets,
  kHmapOldbuckets,
  kSwissMapUsed,
  kSwissMapDirPtr,
  kSwissMapDirLen,
  kSwissTableGroupsData,
  kSwissTableGroupsLengthMask,

  // Heap: arenas, spans, bitmaps (leaks): add entries here.
  kMheapAllspansArray,
  kMheapAllspansLen,
  kMheapArenas,
  kHeapArenaBitmap,  // Go 1.19-1.21
  kMspanStartAddr,
  kMspanNpages,
  kMspanFreeindex,
  kMspanNelems,
  kMspanAllocBits,
  kMspanSpanclass,
  kMspanState,
  kMspanElemsize,
  kMspanSpecials,
  kMspanLargeType,  // Go 1.22+
  kMspanAllocCount,
  kSpecialNext,
  kSpecialOffset,
  kSpecialKind,
  kSpecialFinalizerFn,
  kSpecialCleanupFn,         // Go 1.24+
  kSpecialWeakHandleHandle,  // Go 1.24+
  kModuledataData,
  kModuledataEdata,
  kModuledataBss,
  kModuledataEbss,
  kModuledataGcdatamask,  // bytedata
  kModuledataGcbssmask,   // bytedata
  kModuledataNext,
  kModuledataRodata,
  kGDefer,
  kGPanic,
  kDeferFn,
  kDeferLink,
  kDeferHeap,
  kFinblockAlllink,
  kFinblockCnt,
  kFinblockFin,
  kCleanupQueueAll,       // Go 1.24+
  kCleanupBlockAlllink,   // Go 1.24+
  kCleanupBlockN,         // Go 1.24+
  kCleanupBlockCleanups,  // Go 1.24+

  // Blocking objects: channels, sudogs, semaphores (leaks): add entries here.
  kHchanQcount,
  kHchanDataqsiz,
  kHchanElemsize,
  kHchanClosed,
  kHchanElemtype,
  kHchanBuf,    // the ring of dataqsiz elements (pitfalls: queued values)
  kHchanRecvx,  // the ring index of the next value received
  kHchanRecvqFirst,
  kHchanSendqFirst,
  kSudogG,
  kSudogNext,
  kSudogPrev,
  kSudogElem,    // the pointer word (Go 1.26+: maybeTraceablePtr.vp, nil while hidden)
  kSudogElemVu,  // Go 1.26+: maybeTraceablePtr.vu, the address kept as an integer
  kSudogTicket,
  kSudogIsSelect,
  kSudogParent,
  kSudogWaitlink,
  kSudogC,
  kSudogCVu,  // Go 1.26+
  kSemaRootTreap,
  kSemaRootNwait,
  kNotifyListHead,
  kNotifyListTail,

  kCount
};

// Sizes of runtime types.
enum class Typ : uint8_t {
  kG,
  kM,
  kP,

  // Types and interfaces (pitfalls): add entries here.
  kType,
  kPtrType,
  kSliceType,
  kArrayType,
  kChanType,
  kMapType,
  kStructType,
  kStructField,
  kInterfaceType,
  kImethod,
  kFuncType,
  kUncommonType,

  // Heap: arenas, spans, bitmaps (leaks): add entries here.
  kMspan,
  kPanic,
  kCleanupFn,  // Go 1.25+

  // Blocking objects: channels, sudogs, semaphores (leaks): add entries here.
  kHchan,
  kSudog,
  kSemTable,  // runtime.semTable: semTabSize padded semaRoots

  kCount
};

// Package-level variables of the runtime.
enum class Glob : uint8_t {
  kAllgs,
  kAllglen,
  kAllm,
  kAllp,
  kSched,
  kGomaxprocs,
  kNcpu,
  kMemstats,
  kMheap,
  kGcController,
  kWaitReasonStrings,

  // Types and interfaces (pitfalls): add entries here.

  // Heap: arenas, spans, bitmaps (leaks): add entries here.
  kAllfin,
  kGcCleanups,  // Go 1.24+

  // Blocking objects: channels, sudogs, semaphores (leaks): add entries here.
  kSemtable,

  kCount
};

std::string_view field_name(Fld f);    // "runtime.g.goid"
std::string_view type_name(Typ t);     // "runtime.g"
std::string_view global_name(Glob g);  // "runtime.allgs"
// Every name the global has had across Go versions.
std::vector<std::string_view> global_names(Glob g);

class Layout {
 public:
  // Where the layout came from: "DWARF", "table go1.26", or "table go1.26 (guessed for go1.24)".
  std::string source;
  bool guessed = false;

  std::optional<FieldInfo> field(Fld f) const { return fields_[static_cast<size_t>(f)]; }
  std::optional<uint64_t> size(Typ t) const { return sizes_[static_cast<size_t>(t)]; }
  void set(Fld f, std::optional<FieldInfo> v) { fields_[static_cast<size_t>(f)] = v; }
  void set(Typ t, std::optional<uint64_t> v) { sizes_[static_cast<size_t>(t)] = v; }

 private:
  std::array<std::optional<FieldInfo>, static_cast<size_t>(Fld::kCount)> fields_{};
  std::array<std::optional<uint64_t>, static_cast<size_t>(Typ::kCount)> sizes_{};
};

Layout layout_from_dwarf(const DwarfTypes& dwarf);
// The built-in table for `v`, the nearest one marked as a guess for versions without a table;
// nullopt when the version is unknown altogether.
std::optional<Layout> layout_from_table(const GoVersion& v);

}  // namespace ifx
