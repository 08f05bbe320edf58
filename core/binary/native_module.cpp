// Native modules: load bias, .eh_frame_hdr, and function names from DWARF or ELF symbols.
#include "core/binary/native_module.h"

#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdw.h>
#include <unistd.h>

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace ifx {
namespace {

constexpr uint8_t kPeUdata4 = 0x03;
constexpr uint8_t kPeSdata4 = 0x0b;
constexpr uint8_t kPePcrel = 0x10;
constexpr uint8_t kPeDatarel = 0x30;
constexpr size_t kMaxScopes = 64;  // inlined calls per pc that we name

// DW_AT_linkage_name (what gdb prints for C functions declared with an assembler name), else
// DW_AT_name, following abstract origins.
const char* die_name(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  for (unsigned at :
       {unsigned{DW_AT_linkage_name}, unsigned{DW_AT_MIPS_linkage_name}, unsigned{DW_AT_name}}) {
    if (dwarf_attr_integrate(die, at, &attr) != nullptr) {
      if (const char* s = dwarf_formstring(&attr)) return s;
    }
  }
  return nullptr;
}

// C++ names demangled as gdb prints them; anything else as it is.
std::string demangled(const char* name) {
  if (name[0] != '_' || name[1] != 'Z') return name;
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = (status == 0 && d != nullptr) ? std::string(d) : std::string(name);
  free(d);  // NOLINT: __cxa_demangle allocates with malloc
  return out;
}

}  // namespace

std::string debug_file_for_build_id(const std::string& build_id) {
  if (build_id.size() < 3) return {};
  std::string path =
      "/usr/lib/debug/.build-id/" + build_id.substr(0, 2) + "/" + build_id.substr(2) + ".debug";
  return ::access(path.c_str(), R_OK) == 0 ? path : std::string();
}

NativeModule::NativeModule(std::string path, uint64_t bias, std::unique_ptr<ElfFile> elf)
    : path_(std::move(path)), bias_(bias), elf_(std::move(elf)) {
  bool first = true;
  for (const auto& seg : elf_->segments()) {
    if (seg.type != PT_LOAD || (seg.flags & PF_X) == 0) continue;
    uint64_t s = seg.vaddr + bias_;
    uint64_t e = s + seg.memsz;
    text_start_ = first ? s : std::min(text_start_, s);
    text_end_ = first ? e : std::max(text_end_, e);
    first = false;
  }
  for (const auto& seg : elf_->segments()) {
    if (seg.type != PT_GNU_EH_FRAME || seg.filesz < 12) continue;
    auto hdr = elf_->file_bytes_at(seg.vaddr, 12);
    if (!hdr) break;
    const uint8_t* h = hdr->data();
    if (h[0] != 1 || h[1] != (kPePcrel | kPeSdata4) || h[2] != kPeUdata4 ||
        h[3] != (kPeDatarel | kPeSdata4)) {
      break;
    }
    EhFrameHdr e;
    e.addr = seg.vaddr + bias_;
    e.fde_count = load_le<uint32_t>(h + 8);
    e.table = e.addr + 12;
    if (e.fde_count * 8 <= seg.filesz - 12) eh_frame_hdr_ = e;
    break;
  }
  add_symbols(*elf_);
}

// Among aliases at one address the name that sorts last wins, as gdb's minimal symbols do
// (they sort by address, then by name, and take the last): "clone3" over "__clone3".
void NativeModule::add_symbols(const ElfFile& elf) {
  for (const ElfSymbol& s : elf.symbols()) {
    if (s.type != STT_FUNC || s.value == 0 || s.name.empty()) continue;
    syms_.push_back({s.value, s.size, s.name});
  }
  std::sort(syms_.begin(), syms_.end(), [](const Sym& a, const Sym& b) {
    return a.addr != b.addr ? a.addr < b.addr : a.name > b.name;
  });
}

NativeModule::~NativeModule() = default;

bool NativeModule::read(uint64_t addr, uint8_t* out, size_t size) const {
  if (addr < bias_) return false;
  auto b = elf_->file_bytes_at(addr - bias_, size);
  if (!b) return false;
  std::memcpy(out, b->data(), size);
  return true;
}

void NativeModule::open_debug_info() {
  debug_tried_ = true;
  std::vector<std::string> candidates;
  if (elf_->section(".debug_info") != nullptr) candidates.push_back(path_);
  std::string debug = debug_file_for_build_id(elf_->gnu_build_id());
  if (!debug.empty()) candidates.push_back(debug);
  for (const auto& c : candidates) {
    try {
      dwarf_ = std::make_unique<DwarfFile>(c);
      dwarf_path_ = c;
      break;
    } catch (const Error&) {
    }
  }
  if (!debug.empty()) {
    try {
      // The debug file's .symtab names local functions the module's .dynsym lacks.
      debug_elf_ = ElfFile::open(debug);
      add_symbols(*debug_elf_);
    } catch (const Error&) {
    }
  }
}

bool NativeModule::dwarf_names(uint64_t vaddr, std::vector<std::string>& out) {
  if (!dwarf_) return false;
  Dwarf_Die cu;
  if (dwarf_addrdie(dwarf_->handle(), vaddr, &cu) == nullptr) return false;
  // An assembler unit lists every alias of a function as its own subprogram: name it from the
  // symbols instead, as gdb does.
  if (dwarf_srclang(&cu) == DW_LANG_Mips_Assembler) return false;
  Dwarf_Die* scopes = nullptr;
  int n = dwarf_getscopes(&cu, vaddr, &scopes);
  // After an inlined call's DIE, dwarf_getscopes lists the scopes of the inlined function's
  // definition; the chain of calls that contain it comes from dwarf_getscopes_die.
  for (int i = 0; i < n; ++i) {
    int tag = dwarf_tag(&scopes[i]);
    if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine) continue;
    Dwarf_Die* chain = nullptr;
    int m = dwarf_getscopes_die(&scopes[i], &chain);
    for (int j = 0; j < m && out.size() < kMaxScopes; ++j) {
      int t = dwarf_tag(&chain[j]);
      if (t != DW_TAG_subprogram && t != DW_TAG_inlined_subroutine) continue;
      const char* name = die_name(&chain[j]);
      out.push_back(name != nullptr ? demangled(name) : "?");
    }
    free(chain);  // NOLINT: libdw allocates with malloc
    break;
  }
  free(scopes);  // NOLINT: libdw allocates with malloc
  return !out.empty();
}

NativeSymbol NativeModule::symbolize(uint64_t pc) {
  if (!debug_tried_) open_debug_info();
  NativeSymbol out;
  if (pc < bias_) return out;
  uint64_t vaddr = pc - bias_;
  auto it = std::upper_bound(syms_.begin(), syms_.end(), vaddr,
                             [](uint64_t v, const Sym& s) { return v < s.addr; });
  const Sym* sym = nullptr;
  if (it != syms_.begin()) {
    uint64_t at = std::prev(it)->addr;
    auto first = std::lower_bound(syms_.begin(), it, at,
                                  [](const Sym& s, uint64_t v) { return s.addr < v; });
    sym = &*first;  // the preferred alias at that address
    if (sym->size != 0 && vaddr - sym->addr >= sym->size) sym = nullptr;
  }
  if (sym != nullptr) {
    out.offset = vaddr - sym->addr;
    out.has_offset = true;
  }
  if (dwarf_names(vaddr, out.functions)) return out;
  if (sym != nullptr) out.functions.push_back(demangled(std::string(sym->name).c_str()));
  return out;
}

std::string NativeModule::symbol_source() {
  if (!debug_tried_) open_debug_info();
  if (dwarf_) return "DWARF of " + dwarf_path_;
  if (!syms_.empty()) return "ELF symbols";
  return "no symbols";
}

}  // namespace ifx
