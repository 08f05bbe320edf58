// Locates pclntab, moduledata, runtime.text and go:func.* in a Go executable, by symbol where the
// symbol table survives and by structure where it was stripped.
#include "core/binary/go_binary.h"

#include <elf.h>

#include <algorithm>

namespace ifx {
namespace {

constexpr uint64_t kModuleTextOffset = 176;  // moduledata.text, stable from 1.18 to 1.27
constexpr uint64_t kHeaderFuncnameOffset = 32;
constexpr int kMaxInlineDepth = 1000;

// moduledata.gofunc moved as fields were added before it: covctrs (1.20), typedesclen and
// itaboffset/itabsize (1.27).
uint64_t moduledata_gofunc_offset(const GoVersion& v) {
  if (!v.at_least(20)) return 304;
  if (!v.at_least(27)) return 320;
  return 344;
}

bool looks_like_pclntab(Bytes b) {
  if (b.size() < 16) return false;
  uint32_t magic = load_le<uint32_t>(b.data());
  return (magic == 0xfffffff0 || magic == 0xfffffff1) && b[4] == 0 && b[5] == 0 &&
         (b[6] == 1 || b[6] == 4) && b[7] == 8;
}

}  // namespace

std::unique_ptr<GoBinary> GoBinary::open(const std::string& path) {
  return std::make_unique<GoBinary>(ElfFile::open(path));
}

GoBinary::GoBinary(std::unique_ptr<ElfFile> elf) : elf_(std::move(elf)) {
  if (elf_->type() != ET_EXEC && elf_->type() != ET_DYN) {
    fail("{}: not an executable (ELF type {})", elf_->name(), elf_->type());
  }
  try {
    build_info_ = read_build_info(*elf_);
    version_ = parse_go_version(build_info_.go_version);
    locate_pclntab();
    locate_moduledata();
    pclntab_ = std::make_unique<Pclntab>(pclntab_bytes_, locate_text_start());
    locate_gofunc();
  } catch (const Error& e) {
    // Every message names the file it is about.
    std::string_view what = e.what();
    if (what.substr(0, elf_->name().size()) == elf_->name()) throw;
    fail("{}: {}", elf_->name(), what);
  }
}

bool GoBinary::is_pie() const {
  return elf_->type() == ET_DYN;
}

bool GoBinary::has_dwarf() const {
  return elf_->section(".debug_info") != nullptr || elf_->section(".zdebug_info") != nullptr;
}

void GoBinary::locate_pclntab() {
  for (const char* name : {".gopclntab", ".data.rel.ro.gopclntab"}) {
    if (const ElfSection* s = elf_->section(name)) {
      pclntab_bytes_ = elf_->section_data(*s);
      pclntab_addr_ = s->addr;
      return;
    }
  }
  if (const ElfSymbol* sym = elf_->symbol("runtime.pclntab")) {
    const ElfSymbol* end = elf_->symbol("runtime.epclntab");
    uint64_t size = end != nullptr && end->value > sym->value ? end->value - sym->value : 0;
    if (auto b = elf_->file_bytes_at(sym->value, size); b && size > 0) {
      pclntab_bytes_ = *b;
      pclntab_addr_ = sym->value;
      return;
    }
  }
  // No sections and no symbols: look for the header's magic in the read-only segments.
  for (const auto& p : elf_->segments()) {
    if (p.type != PT_LOAD || (p.flags & PF_W) != 0) continue;
    Bytes seg = slice(elf_->bytes(), p.offset, p.filesz, elf_->name() + ": segment");
    for (size_t off = 0; off + 16 <= seg.size(); off += 8) {
      if (looks_like_pclntab(seg.subspan(off))) {
        pclntab_bytes_ = seg.subspan(off);
        pclntab_addr_ = p.vaddr + off;
        return;
      }
    }
  }
  fail("{}: not a Go program (no pclntab found)", elf_->name());
}

void GoBinary::locate_moduledata() {
  uint64_t funcnametab =
      pclntab_addr_ + load_at<uint64_t>(pclntab_bytes_, kHeaderFuncnameOffset, "pclntab header");
  auto valid = [&](uint64_t md) {
    return elf_->pointer_at(md) == pclntab_addr_ && elf_->pointer_at(md + 8) == funcnametab;
  };
  std::vector<uint64_t> candidates;
  if (const ElfSymbol* s = elf_->symbol("runtime.firstmoduledata")) candidates.push_back(s->value);
  if (const ElfSection* s = elf_->section(".go.module")) candidates.push_back(s->addr);
  for (uint64_t md : candidates) {
    if (valid(md)) {
      moduledata_ = md;
      return;
    }
  }
  // Stripped: moduledata is the data word that points at the pclntab header.
  for (uint64_t md : elf_->relocations_to(pclntab_addr_)) {
    if (valid(md)) {
      moduledata_ = md;
      return;
    }
  }
  for (const auto& p : elf_->segments()) {
    if (p.type != PT_LOAD || (p.flags & PF_W) == 0) continue;
    Bytes seg = slice(elf_->bytes(), p.offset, p.filesz, elf_->name() + ": data segment");
    for (size_t off = 0; off + 16 <= seg.size(); off += 8) {
      if (load_le<uint64_t>(seg.data() + off) == pclntab_addr_ && valid(p.vaddr + off)) {
        moduledata_ = p.vaddr + off;
        return;
      }
    }
  }
}

uint64_t GoBinary::locate_text_start() const {
  if (const ElfSymbol* s = elf_->symbol("runtime.text")) return s->value;
  if (moduledata_) {
    if (auto text = elf_->pointer_at(*moduledata_ + kModuleTextOffset)) return *text;
  }
  if (const ElfSection* s = elf_->section(".text")) return s->addr;
  fail("{}: cannot find the start of Go text", elf_->name());
}

void GoBinary::locate_gofunc() {
  for (const char* name : {"go:func.*", "go.func.*"}) {
    if (const ElfSymbol* s = elf_->symbol(name)) {
      gofunc_ = s->value;
      return;
    }
  }
  if (moduledata_) gofunc_ = elf_->pointer_at(*moduledata_ + moduledata_gofunc_offset(version_));
}

std::optional<GoBinary::InlineEntry> GoBinary::inline_entry(const Func& f, uint32_t tree_off,
                                                            int32_t ix) const {
  if (!gofunc_ || ix < 0) return std::nullopt;
  bool old = pclntab_->format() == PclntabFormat::kGo118;
  uint64_t size = old ? 20 : 16;
  auto b = elf_->file_bytes_at(*gofunc_ + tree_off + uint64_t(ix) * size, size);
  if (!b) fail("{}: inline tree of {} is unreadable", elf_->name(), pclntab_->func_name(f));
  // 1.18/1.19: {parent i16, funcID u8, _, file i32, line i32, func_ i32, parentPc i32}
  // 1.20+:     {funcID u8, _ [3]u8, nameOff i32, parentPc i32, startLine i32}
  return InlineEntry{load_le<int32_t>(b->data() + (old ? 12 : 4)),
                     load_le<int32_t>(b->data() + (old ? 16 : 8)), (*b)[old ? 2 : 0],
                     old ? 0 : load_le<int32_t>(b->data() + 12)};
}

std::vector<SourceFrame> GoBinary::frames_at(uint64_t pc) const {
  std::vector<SourceFrame> out;
  auto f = pclntab_->find_func(pc);
  if (!f) return out;
  uint32_t tree = pclntab_->funcdata_offset(*f, kFuncdataInlTree);
  uint32_t index_table = pclntab_->pcdata_offset(*f, kPcdataInlTreeIndex);
  bool has_tree = tree != kNoFuncdata && index_table != 0;
  for (int depth = 0; depth < kMaxInlineDepth; ++depth) {
    SourceFrame frame{pclntab_->func_name(*f),
                      pclntab_->file(*f, pc),
                      pclntab_->line(*f, pc),
                      false,
                      f->func_id,
                      f->start_line};
    int32_t ix = has_tree ? pclntab_->pc_value(*f, index_table, pc) : -1;
    auto entry = inline_entry(*f, tree, ix);
    if (!entry) {
      out.push_back(frame);
      return out;
    }
    frame.function = pclntab_->name_at(entry->name_off);
    frame.inlined = true;
    frame.func_id = entry->func_id;
    frame.start_line = entry->start_line;
    out.push_back(frame);
    uint64_t parent = f->entry + static_cast<uint64_t>(entry->parent_pc);
    if (parent < f->entry || parent >= f->end) {
      fail("{}: inline tree of {} has parent pc {:#x} outside the function", elf_->name(),
           pclntab_->func_name(*f), parent);
    }
    pc = parent;
  }
  fail("{}: inline tree of {} is deeper than {}", elf_->name(), pclntab_->func_name(*f),
       kMaxInlineDepth);
}

std::optional<Bytes> GoBinary::funcdata(const Func& f, uint32_t index, uint64_t max) const {
  uint32_t off = pclntab_->funcdata_offset(f, index);
  if (off == kNoFuncdata || !gofunc_) return std::nullopt;
  // The table's length is implicit: take what the file has, up to max.
  for (uint64_t n = max; n > 0; n /= 2) {
    if (auto b = elf_->file_bytes_at(*gofunc_ + off, n)) return b;
  }
  return std::nullopt;
}

int32_t GoBinary::frame_size(const Func& f) const {
  int32_t size = 0;
  for (const auto& r : pclntab_->pc_value_ranges(f, f.pcsp)) size = std::max(size, r.value);
  return size;
}

SourceRange GoBinary::source_range(const Func& f) const {
  SourceRange range;
  range.file = pclntab_->file(f, f.entry);
  range.start_line = f.start_line;
  uint32_t index_table = pclntab_->pcdata_offset(f, kPcdataInlTreeIndex);
  auto inlined = pclntab_->pc_value_ranges(f, index_table);
  auto is_inlined = [&](uint64_t pc) {
    for (const auto& r : inlined) {
      if (pc >= r.start && pc < r.end) return r.value >= 0;
    }
    return false;
  };
  for (const auto& r : pclntab_->pc_value_ranges(f, f.pcln)) {
    if (r.value <= 0 || is_inlined(r.start)) continue;
    if (range.start_line == 0 || r.value < range.start_line) {
      if (f.start_line == 0) range.start_line = r.value;
    }
    range.end_line = std::max(range.end_line, r.value);
  }
  return range;
}

}  // namespace ifx
