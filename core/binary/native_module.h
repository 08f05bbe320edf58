// A native ELF module as the target mapped it (the executable or a shared library): where it
// was loaded, its unwind tables (.eh_frame_hdr), and the names of its functions, from DWARF
// (its own or a separate debug file found by build ID) or else from its ELF symbols.
// Not thread-safe: DWARF is opened lazily.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/binary/dwarf.h"
#include "core/binary/elf_file.h"

namespace ifx {

// What a native pc names: the functions at it, innermost (inlined) first, and the offset of the
// pc from the start of the outermost (physical) function's symbol.
struct NativeSymbol {
  std::vector<std::string> functions;  // empty: unknown
  uint64_t offset = 0;                 // from the physical function's start, when known
  bool has_offset = false;
};

class NativeModule {
 public:
  // `bias`: runtime address minus the file's virtual address.
  NativeModule(std::string path, uint64_t bias, std::unique_ptr<ElfFile> elf);
  ~NativeModule();
  NativeModule(const NativeModule&) = delete;
  NativeModule& operator=(const NativeModule&) = delete;

  const std::string& path() const { return path_; }
  uint64_t bias() const { return bias_; }
  const ElfFile& elf() const { return *elf_; }
  // The runtime range of the module's executable PT_LOAD segments.
  uint64_t text_start() const { return text_start_; }
  uint64_t text_end() const { return text_end_; }
  // .eh_frame_hdr at its runtime address, and its fde count; nullopt when absent or in an
  // encoding other than the usual one (pcrel eh_frame_ptr, udata4 count, datarel sdata4 table).
  struct EhFrameHdr {
    uint64_t addr = 0;
    uint64_t table = 0;  // runtime address of the sorted (initial pc, fde) table
    uint64_t fde_count = 0;
  };
  const std::optional<EhFrameHdr>& eh_frame_hdr() const { return eh_frame_hdr_; }
  // Reads file bytes at a runtime address of a PT_LOAD's file contents.
  bool read(uint64_t addr, uint8_t* out, size_t size) const;

  // Names at a runtime pc (for a return address, pass the call's pc: return address - 1).
  NativeSymbol symbolize(uint64_t pc);
  // Where the names come from: "DWARF of <file>", "ELF symbols", "no symbols".
  std::string symbol_source();

 private:
  void open_debug_info();
  bool dwarf_names(uint64_t vaddr, std::vector<std::string>& out);

  std::string path_;
  uint64_t bias_;
  std::unique_ptr<ElfFile> elf_;
  std::unique_ptr<ElfFile> debug_elf_;  // the separate debug file's symbols, when found
  uint64_t text_start_ = 0;
  uint64_t text_end_ = 0;
  std::optional<EhFrameHdr> eh_frame_hdr_;
  struct Sym {
    uint64_t addr;
    uint64_t size;
    std::string_view name;
  };
  void add_symbols(const ElfFile& elf);
  std::vector<Sym> syms_;  // functions, sorted by address
  bool debug_tried_ = false;
  std::unique_ptr<DwarfFile> dwarf_;
  std::string dwarf_path_;
};

// The separate debug file of a GNU build ID, as Debian's -dbg/-dbgsym packages install it:
// /usr/lib/debug/.build-id/ab/cdef....debug; empty when there is none.
std::string debug_file_for_build_id(const std::string& build_id);

}  // namespace ifx
