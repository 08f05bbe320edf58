// A Go executable: its ELF file, build info, pclntab and the module data that locates them,
// with symbolisation (pc -> frames, inlined calls expanded). Immutable after open.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/binary/build_info.h"
#include "core/binary/elf_file.h"
#include "core/binary/go_version.h"
#include "core/binary/pclntab.h"

namespace ifx {

// One source-level frame at a pc; inlined frames come before the physical one.
struct SourceFrame {
  std::string_view function;
  std::string_view file;
  int32_t line = 0;
  bool inlined = false;
  uint8_t func_id = 0;     // the runtime's funcID of this (possibly inlined) function
  int32_t start_line = 0;  // line of the func keyword (Go 1.20+; 0 before)
};

// Where a function's source lies: the file at its entry and its non-inlined line range.
struct SourceRange {
  std::string_view file;
  int32_t start_line = 0;
  int32_t end_line = 0;
};

class GoBinary {
 public:
  // Opens and validates; fails with a one-line reason ("not a Go program", corrupt pclntab ...).
  static std::unique_ptr<GoBinary> open(const std::string& path);
  explicit GoBinary(std::unique_ptr<ElfFile> elf);

  const ElfFile& elf() const { return *elf_; }
  const BuildInfo& build_info() const { return build_info_; }
  const GoVersion& version() const { return version_; }
  const Pclntab& pclntab() const { return *pclntab_; }
  uint64_t pclntab_addr() const { return pclntab_addr_; }
  std::optional<uint64_t> moduledata_addr() const { return moduledata_; }
  bool is_pie() const;
  bool has_dwarf() const;

  // Source frames at pc, innermost first; empty when no function contains pc.
  std::vector<SourceFrame> frames_at(uint64_t pc) const;
  // Up to `max` bytes of funcdata `index` of f (from go:func.*), or nullopt when absent.
  std::optional<Bytes> funcdata(const Func& f, uint32_t index, uint64_t max) const;
  // Bytes the function's frame occupies after its prologue (largest SP delta).
  int32_t frame_size(const Func& f) const;
  SourceRange source_range(const Func& f) const;

 private:
  void locate_pclntab();
  void locate_moduledata();
  uint64_t locate_text_start() const;
  void locate_gofunc();
  struct InlineEntry {
    int32_t name_off;
    int32_t parent_pc;
    uint8_t func_id;
    int32_t start_line;  // 0 before Go 1.20
  };
  std::optional<InlineEntry> inline_entry(const Func& f, uint32_t tree_off, int32_t ix) const;

  std::unique_ptr<ElfFile> elf_;
  BuildInfo build_info_;
  GoVersion version_;
  Bytes pclntab_bytes_;
  uint64_t pclntab_addr_ = 0;
  std::optional<uint64_t> moduledata_;
  std::optional<uint64_t> gofunc_;
  std::unique_ptr<Pclntab> pclntab_;
};

}  // namespace ifx
