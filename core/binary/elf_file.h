// A checked reader for 64-bit little-endian ELF files: executables, shared objects and cores.
// Everything it hands out points into the mapped file; the object is immutable after open and
// may be shared across threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/bytes.h"
#include "core/util/mapped_file.h"

namespace ifx {

struct ElfSection {
  std::string_view name;
  uint32_t type = 0;
  uint64_t flags = 0;
  uint64_t addr = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t link = 0;
  uint32_t info = 0;
  uint64_t entsize = 0;
};

struct ElfSegment {
  uint32_t type = 0;
  uint32_t flags = 0;
  uint64_t offset = 0;
  uint64_t vaddr = 0;
  uint64_t filesz = 0;
  uint64_t memsz = 0;
  uint64_t align = 0;
};

struct ElfSymbol {
  std::string_view name;
  uint64_t value = 0;
  uint64_t size = 0;
  uint8_t type = 0;  // STT_*
  uint8_t bind = 0;  // STB_*
  uint16_t shndx = 0;
};

struct ElfNote {
  std::string_view name;
  uint32_t type = 0;
  Bytes desc;
};

class ElfFile {
 public:
  // Maps and validates the file; fails with a one-line reason ("not an ELF file", "truncated").
  static std::unique_ptr<ElfFile> open(const std::string& path);
  // Parses bytes owned by the caller (unit tests and in-memory images).
  explicit ElfFile(Bytes bytes, std::string name);

  const std::string& name() const { return name_; }
  Bytes bytes() const { return bytes_; }
  uint16_t type() const { return type_; }        // ET_EXEC, ET_DYN, ET_CORE
  uint16_t machine() const { return machine_; }  // EM_X86_64, EM_AARCH64
  uint64_t entry() const { return entry_; }
  unsigned ptr_size() const { return 8; }

  const std::vector<ElfSection>& sections() const { return sections_; }
  const std::vector<ElfSegment>& segments() const { return segments_; }
  const ElfSection* section(std::string_view name) const;
  // Section contents; empty for SHT_NOBITS. Compressed sections are returned as stored.
  Bytes section_data(const ElfSection& s) const;

  // Symbols of .symtab then .dynsym (empty when stripped).
  const std::vector<ElfSymbol>& symbols() const { return symbols_; }
  const ElfSymbol* symbol(std::string_view name) const;
  bool has_symtab() const { return has_symtab_; }

  // Notes from SHT_NOTE sections, or from PT_NOTE segments when there are none (cores).
  std::vector<ElfNote> notes() const;
  // GNU build-id as lowercase hex, or empty.
  std::string gnu_build_id() const;
  // The Go build ID note ("Go", type 4), or empty.
  std::string go_build_id() const;

  // File bytes backing [vaddr, vaddr+len) of a PT_LOAD segment; nullopt when that range is not
  // entirely backed by file contents.
  std::optional<Bytes> file_bytes_at(uint64_t vaddr, uint64_t len) const;
  // A pointer-sized word at vaddr as the loader would see it at load base 0: a RELATIVE
  // relocation's addend if there is one there (PIE), else the file contents.
  std::optional<uint64_t> pointer_at(uint64_t vaddr) const;
  // Addresses of RELATIVE relocations whose addend equals `value` (finds PIE data pointing at it).
  std::vector<uint64_t> relocations_to(uint64_t value) const;
  bool has_relative_relocations() const { return !relative_relocs_.empty(); }

 private:
  void parse_header();
  void parse_sections();
  void parse_segments();
  void parse_symbols(const ElfSection& table);
  void parse_relocations(const ElfSection& rela);
  void check_within_file() const;

  std::shared_ptr<MappedFile> mapping_;  // keeps bytes_ alive when opened from a path
  Bytes bytes_;
  std::string name_;
  uint16_t type_ = 0;
  uint16_t machine_ = 0;
  uint64_t entry_ = 0;
  uint64_t phoff_ = 0, shoff_ = 0;
  uint32_t phnum_ = 0, shnum_ = 0, shstrndx_ = 0;
  std::vector<ElfSection> sections_;
  std::vector<ElfSegment> segments_;
  std::vector<ElfSymbol> symbols_;
  bool has_symtab_ = false;
  std::vector<std::pair<uint64_t, uint64_t>> relative_relocs_;  // (offset, addend), sorted
};

}  // namespace ifx
