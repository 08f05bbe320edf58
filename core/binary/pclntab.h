// Go's pc-line table (runtime.pclntab) for the 1.18+ header formats: function table, names,
// pc-value tables (SP delta, file, line, pcdata), funcdata offsets and the inline tree.
// Immutable after construction; safe to share across threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/bytes.h"

namespace ifx {

enum class PclntabFormat { kGo118, kGo120 };  // magic 0xfffffff0 (1.18, 1.19), 0xfffffff1 (1.20+)

// PCDATA / FUNCDATA table indices and function flags (internal/abi).
inline constexpr uint32_t kPcdataUnsafePoint = 0;
inline constexpr uint32_t kPcdataStackMapIndex = 1;
inline constexpr uint32_t kPcdataInlTreeIndex = 2;
inline constexpr uint32_t kPcdataArgLiveIndex = 3;
inline constexpr uint32_t kFuncdataArgsPointerMaps = 0;
inline constexpr uint32_t kFuncdataLocalsPointerMaps = 1;
inline constexpr uint32_t kFuncdataInlTree = 3;
inline constexpr uint32_t kFuncdataArgInfo = 5;
inline constexpr uint32_t kFuncdataArgLiveInfo = 6;
inline constexpr uint8_t kFuncFlagTopFrame = 1;
inline constexpr uint8_t kFuncFlagSPWrite = 2;
inline constexpr uint8_t kFuncFlagAsm = 4;
inline constexpr uint32_t kNoFuncdata = 0xffffffff;

// One decoded runtime._func.
struct Func {
  uint32_t index = 0;     // position in the function table
  uint32_t func_off = 0;  // offset of the _func in pclntable
  uint64_t entry = 0;     // absolute entry pc
  uint64_t end = 0;       // entry of the next function
  int32_t name_off = 0;
  int32_t args = 0;
  uint32_t deferreturn = 0;
  uint32_t pcsp = 0, pcfile = 0, pcln = 0;
  uint32_t npcdata = 0;
  uint32_t cu_offset = 0;
  int32_t start_line = 0;  // 0 before Go 1.20
  uint8_t func_id = 0;
  uint8_t flag = 0;
  uint8_t nfuncdata = 0;
};

// One row of a pc-value table: `value` holds for pcs in [start, end).
struct PcValueRange {
  uint64_t start;
  uint64_t end;
  int32_t value;
};

class Pclntab {
 public:
  // `data` is the table from its header to the end of its section; `text_start` is
  // runtime.text (moduledata.text), the base of every entry offset.
  Pclntab(Bytes data, uint64_t text_start);

  PclntabFormat format() const { return format_; }
  std::string_view format_name() const {
    return format_ == PclntabFormat::kGo118 ? "1.18" : "1.20";
  }
  uint8_t min_lc() const { return min_lc_; }
  uint32_t num_funcs() const { return nfunc_; }
  uint32_t num_files() const { return nfiles_; }
  uint64_t text_start() const { return text_start_; }
  uint64_t text_end() const;  // end pc of the last function

  // The function containing pc, or nullopt (binary search over the function table).
  std::optional<Func> find_func(uint64_t pc) const;
  Func func(uint32_t index) const;
  std::optional<Func> find_func_by_name(std::string_view name) const;

  std::string_view func_name(const Func& f) const { return name_at(f.name_off); }
  std::string_view name_at(int32_t name_off) const;
  // File name for a pcfile value of f; empty when unknown.
  std::string_view file_name(const Func& f, int32_t file_index) const;

  // Value of the pc-value table at `table_off` (into pctab) for pc in f; -1 for table 0 and for
  // pcs past the table's end. Fails only when the table itself is malformed.
  int32_t pc_value(const Func& f, uint32_t table_off, uint64_t pc) const;
  // Every row of a table over [f.entry, f.end).
  std::vector<PcValueRange> pc_value_ranges(const Func& f, uint32_t table_off) const;

  int32_t sp_delta(const Func& f, uint64_t pc) const { return pc_value(f, f.pcsp, pc); }
  int32_t line(const Func& f, uint64_t pc) const { return pc_value(f, f.pcln, pc); }
  std::string_view file(const Func& f, uint64_t pc) const {
    return file_name(f, pc_value(f, f.pcfile, pc));
  }
  // Offset into pctab of pcdata table `index`, 0 when absent.
  uint32_t pcdata_offset(const Func& f, uint32_t index) const;
  // Offset from moduledata.gofunc of funcdata `index`, kNoFuncdata when absent.
  uint32_t funcdata_offset(const Func& f, uint32_t index) const;

 private:
  uint64_t entry_at(uint32_t index) const;

  Bytes data_;
  PclntabFormat format_ = PclntabFormat::kGo120;
  uint8_t min_lc_ = 1;
  uint32_t nfunc_ = 0;
  uint32_t nfiles_ = 0;
  uint64_t text_start_ = 0;
  Bytes funcnametab_, cutab_, filetab_, pctab_, pclntable_;
};

}  // namespace ifx
