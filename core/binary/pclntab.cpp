// Parsing of pclntab (Go 1.18+ layouts). Offsets follow runtime/symtab.go; every table access is
// bounds-checked because the table may come from a corrupt file or hostile memory.
#include "core/binary/pclntab.h"

#include <algorithm>

#include "core/util/cursor.h"

namespace ifx {
namespace {

constexpr uint32_t kMagic118 = 0xfffffff0;
constexpr uint32_t kMagic120 = 0xfffffff1;
constexpr uint32_t kMagic116 = 0xfffffffa;
constexpr uint32_t kMagic12 = 0xfffffffb;
constexpr uint32_t kMaxFuncs = 1u << 24;
constexpr uint64_t kHeaderSize = 72;
constexpr uint32_t kFuncSize118 = 40;
constexpr uint32_t kFuncSize120 = 44;

// A Go pc-value varint: at most 5 bytes, value truncated to 32 bits as the runtime does.
uint32_t read_varint32(Cursor& c) {
  uint32_t v = 0;
  for (unsigned shift = 0; shift < 35; shift += 7) {
    uint8_t b = c.u8();
    v |= uint32_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) return v;
  }
  fail("{}: pc-value varint longer than 5 bytes", c.what());
}

}  // namespace

Pclntab::Pclntab(Bytes data, uint64_t text_start) : data_(data), text_start_(text_start) {
  Cursor c(data, "pclntab header");
  uint32_t magic = c.u32();
  if (magic == kMagic116 || magic == kMagic12) {
    fail("pclntab of Go older than 1.18 (magic {:#x}) is not supported", magic);
  }
  if (magic != kMagic118 && magic != kMagic120) fail("pclntab: bad magic {:#x}", magic);
  format_ = magic == kMagic118 ? PclntabFormat::kGo118 : PclntabFormat::kGo120;
  c.u8();
  c.u8();
  min_lc_ = c.u8();
  uint8_t ptr_size = c.u8();
  if (ptr_size != 8) fail("pclntab: pointer size {} is not supported", ptr_size);
  if (min_lc_ != 1 && min_lc_ != 2 && min_lc_ != 4) fail("pclntab: bad pc quantum {}", min_lc_);
  uint64_t nfunc = c.u64();
  uint64_t nfiles = c.u64();
  c.u64();  // textStart: unrelocated or zero (1.26+); the caller passes moduledata.text
  uint64_t offsets[5];
  for (auto& o : offsets) o = c.u64();
  if (nfunc == 0 || nfunc > kMaxFuncs) fail("pclntab: implausible function count {}", nfunc);
  if (nfiles > kMaxFuncs) fail("pclntab: implausible file count {}", nfiles);
  nfunc_ = static_cast<uint32_t>(nfunc);
  nfiles_ = static_cast<uint32_t>(nfiles);
  // Regions in link order: funcnametab, cutab, filetab, pctab, pclntable (to the end).
  Bytes* regions[5] = {&funcnametab_, &cutab_, &filetab_, &pctab_, &pclntable_};
  for (int i = 0; i < 5; ++i) {
    uint64_t start = offsets[i];
    uint64_t end = i < 4 ? offsets[i + 1] : data.size();
    if (start < kHeaderSize || start > end || end > data.size()) {
      fail("pclntab: table {} at {:#x} is out of order or past the end ({:#x} bytes)", i, start,
           data.size());
    }
    *regions[i] = data.subspan(start, end - start);
  }
  if (!in_bounds(0, (uint64_t{nfunc_} + 1) * 8, pclntable_.size())) {
    fail("pclntab: function table of {} entries does not fit", nfunc_);
  }
}

uint64_t Pclntab::entry_at(uint32_t index) const {
  return text_start_ + load_le<uint32_t>(pclntable_.data() + uint64_t{index} * 8);
}

uint64_t Pclntab::text_end() const {
  return entry_at(nfunc_);
}

Func Pclntab::func(uint32_t index) const {
  if (index >= nfunc_) fail("pclntab: function index {} out of range", index);
  Func f;
  f.index = index;
  f.func_off = load_le<uint32_t>(pclntable_.data() + uint64_t{index} * 8 + 4);
  f.entry = entry_at(index);
  f.end = entry_at(index + 1);
  Cursor c(pclntable_, "pclntab _func");
  c.seek(f.func_off);
  uint32_t entry_off = c.u32();
  if (text_start_ + entry_off != f.entry) {
    fail("pclntab: _func {} entry {:#x} disagrees with the function table ({:#x})", index,
         text_start_ + entry_off, f.entry);
  }
  f.name_off = c.i32();
  f.args = c.i32();
  f.deferreturn = c.u32();
  f.pcsp = c.u32();
  f.pcfile = c.u32();
  f.pcln = c.u32();
  f.npcdata = c.u32();
  f.cu_offset = c.u32();
  if (format_ == PclntabFormat::kGo120) f.start_line = c.i32();
  f.func_id = c.u8();
  f.flag = c.u8();
  c.u8();
  f.nfuncdata = c.u8();
  // The pcdata and funcdata offsets follow; check they fit so later lookups cannot overrun.
  uint64_t size = format_ == PclntabFormat::kGo120 ? kFuncSize120 : kFuncSize118;
  if (!in_bounds(f.func_off, size + (uint64_t{f.npcdata} + f.nfuncdata) * 4, pclntable_.size())) {
    fail("pclntab: _func {} tables run past the end", index);
  }
  return f;
}

std::optional<Func> Pclntab::find_func(uint64_t pc) const {
  if (pc < entry_at(0) || pc >= text_end()) return std::nullopt;
  // Last function whose entry is <= pc.
  uint32_t lo = 0, hi = nfunc_;
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (entry_at(mid) <= pc) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return func(lo);
}

std::optional<Func> Pclntab::find_func_by_name(std::string_view name) const {
  for (uint32_t i = 0; i < nfunc_; ++i) {
    uint32_t func_off = load_le<uint32_t>(pclntable_.data() + uint64_t{i} * 8 + 4);
    int32_t name_off = load_at<int32_t>(pclntable_, uint64_t{func_off} + 4, "pclntab _func");
    if (name_at(name_off) == name) return func(i);
  }
  return std::nullopt;
}

std::string_view Pclntab::name_at(int32_t name_off) const {
  if (name_off < 0) return "?";
  return cstring_at(funcnametab_, static_cast<uint64_t>(name_off), "pclntab function names");
}

std::string_view Pclntab::file_name(const Func& f, int32_t file_index) const {
  if (file_index < 0) return {};
  uint64_t slot = (uint64_t{f.cu_offset} + static_cast<uint64_t>(file_index)) * 4;
  uint32_t off = load_at<uint32_t>(cutab_, slot, "pclntab cutab");
  if (off == 0xffffffff) return {};
  return cstring_at(filetab_, off, "pclntab file names");
}

int32_t Pclntab::pc_value(const Func& f, uint32_t table_off, uint64_t pc) const {
  if (table_off == 0) return -1;
  Cursor c(pctab_, "pclntab pc-value table");
  c.seek(table_off);
  uint64_t cur = f.entry;
  int32_t val = -1;
  for (bool first = true;; first = false) {
    uint32_t uvdelta = read_varint32(c);
    if (uvdelta == 0 && !first) break;
    val += static_cast<int32_t>(-(uvdelta & 1) ^ (uvdelta >> 1));
    cur += uint64_t{read_varint32(c)} * min_lc_;
    if (pc < cur) return val;
  }
  return -1;  // the table ended before pc (padding after the function): unknown, as in the runtime
}

std::vector<PcValueRange> Pclntab::pc_value_ranges(const Func& f, uint32_t table_off) const {
  std::vector<PcValueRange> out;
  if (table_off == 0) return out;
  Cursor c(pctab_, "pclntab pc-value table");
  c.seek(table_off);
  uint64_t cur = f.entry;
  int32_t val = -1;
  for (bool first = true; cur < f.end; first = false) {
    uint32_t uvdelta = read_varint32(c);
    if (uvdelta == 0 && !first) break;
    val += static_cast<int32_t>(-(uvdelta & 1) ^ (uvdelta >> 1));
    uint64_t next = cur + uint64_t{read_varint32(c)} * min_lc_;
    if (next > cur) out.push_back({cur, std::min(next, f.end), val});
    cur = next;
  }
  return out;
}

uint32_t Pclntab::pcdata_offset(const Func& f, uint32_t index) const {
  if (index >= f.npcdata) return 0;
  uint64_t size = format_ == PclntabFormat::kGo120 ? kFuncSize120 : kFuncSize118;
  return load_le<uint32_t>(pclntable_.data() + f.func_off + size + uint64_t{index} * 4);
}

uint32_t Pclntab::funcdata_offset(const Func& f, uint32_t index) const {
  if (index >= f.nfuncdata) return kNoFuncdata;
  uint64_t size = format_ == PclntabFormat::kGo120 ? kFuncSize120 : kFuncSize118;
  uint64_t off = f.func_off + size + (uint64_t{f.npcdata} + index) * 4;
  return load_le<uint32_t>(pclntable_.data() + off);
}

}  // namespace ifx
