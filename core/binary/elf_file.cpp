// ELF64 little-endian parsing with every offset and count checked against the file size.
#include "core/binary/elf_file.h"

#include <elf.h>

#include <algorithm>

#include "core/util/cursor.h"

namespace ifx {
namespace {

constexpr uint32_t kMaxSections = 1u << 16;
constexpr uint32_t kMaxSegments = 1u << 16;
constexpr uint32_t kRelocX86Relative = 8;         // R_X86_64_RELATIVE
constexpr uint32_t kRelocAarch64Relative = 1027;  // R_AARCH64_RELATIVE

std::string hex(Bytes b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(b.size() * 2);
  for (uint8_t c : b) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

void parse_notes(Bytes data, std::vector<ElfNote>& out) {
  Cursor c(data, "ELF note");
  while (c.remaining() >= 12) {
    uint32_t namesz = c.u32();
    uint32_t descsz = c.u32();
    uint32_t type = c.u32();
    Bytes name = c.bytes(namesz);
    c.align(4);
    Bytes desc = c.bytes(descsz);
    c.align(4);
    std::string_view n = as_string(name);
    while (!n.empty() && n.back() == '\0') n.remove_suffix(1);
    out.push_back({n, type, desc});
  }
}

}  // namespace

std::unique_ptr<ElfFile> ElfFile::open(const std::string& path) {
  auto mapping = std::make_shared<MappedFile>(path);
  auto elf = std::make_unique<ElfFile>(mapping->bytes(), path);
  elf->mapping_ = std::move(mapping);
  return elf;
}

ElfFile::ElfFile(Bytes bytes, std::string name) : bytes_(bytes), name_(std::move(name)) {
  parse_header();
  parse_segments();
  parse_sections();
}

void ElfFile::parse_header() {
  if (bytes_.empty()) fail("{}: empty file", name_);
  if (bytes_.size() < 4 || bytes_[0] != 0x7f || bytes_[1] != 'E' || bytes_[2] != 'L' ||
      bytes_[3] != 'F') {
    fail("{}: not an ELF file", name_);
  }
  if (bytes_.size() < sizeof(Elf64_Ehdr)) fail("{}: truncated ELF header", name_);
  if (bytes_[EI_CLASS] != ELFCLASS64) fail("{}: not a 64-bit ELF file", name_);
  if (bytes_[EI_DATA] != ELFDATA2LSB) fail("{}: not a little-endian ELF file", name_);
  Cursor c(bytes_, name_ + ": ELF header");
  c.seek(EI_NIDENT);
  type_ = c.u16();
  machine_ = c.u16();
  c.u32();  // e_version
  entry_ = c.u64();
  phoff_ = c.u64();
  shoff_ = c.u64();
  c.u32();  // e_flags
  c.u16();  // e_ehsize
  uint16_t phentsize = c.u16();
  phnum_ = c.u16();
  uint16_t shentsize = c.u16();
  shnum_ = c.u16();
  shstrndx_ = c.u16();
  if (phnum_ != 0 && phentsize != sizeof(Elf64_Phdr)) fail("{}: bad program header size", name_);
  if (shnum_ != 0 && shentsize != sizeof(Elf64_Shdr)) fail("{}: bad section header size", name_);
  if (machine_ != EM_X86_64 && machine_ != EM_AARCH64) {
    fail("{}: unsupported ELF machine {} (ifxray reads amd64 and arm64)", name_, machine_);
  }
}

void ElfFile::parse_segments() {
  if (phoff_ == 0 || phnum_ == 0) return;
  if (phnum_ == PN_XNUM) {
    // Extended numbering: the real count is in section 0's sh_info.
    if (!in_bounds(shoff_, sizeof(Elf64_Shdr), bytes_.size())) fail("{}: truncated", name_);
    phnum_ = load_le<uint32_t>(bytes_.data() + shoff_ + offsetof(Elf64_Shdr, sh_info));
  }
  if (phnum_ > kMaxSegments ||
      !in_bounds(phoff_, uint64_t{phnum_} * sizeof(Elf64_Phdr), bytes_.size())) {
    fail("{}: truncated: program headers lie past the end of the file", name_);
  }
  Cursor c(bytes_, name_ + ": program headers");
  c.seek(phoff_);
  segments_.reserve(phnum_);
  for (uint32_t i = 0; i < phnum_; ++i) {
    ElfSegment s;
    s.type = c.u32();
    s.flags = c.u32();
    s.offset = c.u64();
    s.vaddr = c.u64();
    c.u64();  // p_paddr
    s.filesz = c.u64();
    s.memsz = c.u64();
    s.align = c.u64();
    segments_.push_back(s);
  }
}

// A file cut short is named as such, before any table in it is parsed. Cores are exempt: a
// truncated core is still worth reading, and its reader reports the missing ranges.
void ElfFile::check_within_file() const {
  if (type_ == ET_CORE) return;
  for (size_t i = 0; i < sections_.size(); ++i) {
    const ElfSection& s = sections_[i];
    if (s.type != SHT_NOBITS && s.size > 0 && !in_bounds(s.offset, s.size, bytes_.size())) {
      fail(
          "{}: truncated: section {} ({:#x} bytes at offset {:#x}) lies past the end of the "
          "file ({:#x} bytes)",
          name_, i, s.size, s.offset, bytes_.size());
    }
  }
  for (const auto& p : segments_) {
    if (p.type == PT_LOAD && !in_bounds(p.offset, p.filesz, bytes_.size())) {
      fail(
          "{}: truncated: a segment ({:#x} bytes at offset {:#x}) lies past the end of the file "
          "({:#x} bytes)",
          name_, p.filesz, p.offset, bytes_.size());
    }
  }
}

void ElfFile::parse_sections() {
  if (shoff_ == 0) return;
  if (shnum_ == 0 || shstrndx_ == SHN_XINDEX) {
    if (!in_bounds(shoff_, sizeof(Elf64_Shdr), bytes_.size())) {
      fail("{}: truncated: section headers lie past the end of the file", name_);
    }
    const uint8_t* s0 = bytes_.data() + shoff_;
    if (shnum_ == 0)
      shnum_ = static_cast<uint32_t>(load_le<uint64_t>(s0 + offsetof(Elf64_Shdr, sh_size)));
    if (shstrndx_ == SHN_XINDEX) shstrndx_ = load_le<uint32_t>(s0 + offsetof(Elf64_Shdr, sh_link));
  }
  if (shnum_ > kMaxSections ||
      !in_bounds(shoff_, uint64_t{shnum_} * sizeof(Elf64_Shdr), bytes_.size())) {
    fail("{}: truncated: section headers lie past the end of the file", name_);
  }
  Cursor c(bytes_, name_ + ": section headers");
  c.seek(shoff_);
  std::vector<uint32_t> name_offsets;
  sections_.reserve(shnum_);
  for (uint32_t i = 0; i < shnum_; ++i) {
    ElfSection s;
    name_offsets.push_back(c.u32());
    s.type = c.u32();
    s.flags = c.u64();
    s.addr = c.u64();
    s.offset = c.u64();
    s.size = c.u64();
    s.link = c.u32();
    s.info = c.u32();
    c.u64();  // sh_addralign
    s.entsize = c.u64();
    sections_.push_back(s);
  }
  check_within_file();
  if (shstrndx_ < sections_.size()) {
    Bytes names = section_data(sections_[shstrndx_]);
    for (size_t i = 0; i < sections_.size(); ++i) {
      if (name_offsets[i] < names.size()) {
        sections_[i].name = cstring_at(names, name_offsets[i], name_ + ": section names");
      }
    }
  }
  for (const auto& s : sections_) {
    if (s.type == SHT_SYMTAB) has_symtab_ = true;
  }
  for (const auto& s : sections_) {
    if (s.type == SHT_SYMTAB) parse_symbols(s);
  }
  for (const auto& s : sections_) {
    if (s.type == SHT_DYNSYM) parse_symbols(s);
    if (s.type == SHT_RELA) parse_relocations(s);
  }
  std::sort(relative_relocs_.begin(), relative_relocs_.end());
}

Bytes ElfFile::section_data(const ElfSection& s) const {
  if (s.type == SHT_NOBITS) return {};
  return slice(bytes_, s.offset, s.size, name_ + ": section " + std::string(s.name));
}

const ElfSection* ElfFile::section(std::string_view name) const {
  for (const auto& s : sections_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

void ElfFile::parse_symbols(const ElfSection& table) {
  if (table.link >= sections_.size()) fail("{}: symbol table has no string table", name_);
  Bytes strings = section_data(sections_[table.link]);
  Bytes data = section_data(table);
  std::string what = name_ + ": symbol table " + std::string(table.name);
  Cursor c(data, what);
  symbols_.reserve(symbols_.size() + data.size() / sizeof(Elf64_Sym));
  while (c.remaining() >= sizeof(Elf64_Sym)) {
    uint32_t name = c.u32();
    uint8_t info = c.u8();
    c.u8();  // st_other
    ElfSymbol sym;
    sym.shndx = c.u16();
    sym.value = c.u64();
    sym.size = c.u64();
    sym.type = ELF64_ST_TYPE(info);
    sym.bind = ELF64_ST_BIND(info);
    if (name == 0 || name >= strings.size()) continue;
    sym.name = cstring_at(strings, name, what);
    symbols_.push_back(sym);
  }
}

void ElfFile::parse_relocations(const ElfSection& rela) {
  Cursor c(section_data(rela), name_ + ": relocations " + std::string(rela.name));
  uint32_t relative = machine_ == EM_AARCH64 ? kRelocAarch64Relative : kRelocX86Relative;
  while (c.remaining() >= sizeof(Elf64_Rela)) {
    uint64_t offset = c.u64();
    uint64_t info = c.u64();
    uint64_t addend = c.u64();
    if (ELF64_R_TYPE(info) == relative) relative_relocs_.emplace_back(offset, addend);
  }
}

// A linear scan: ifxray looks up a few dozen names per run, and hashing 100k symbols up front
// cost more than all of those lookups together.
const ElfSymbol* ElfFile::symbol(std::string_view name) const {
  for (const auto& s : symbols_) {
    if (s.name == name) return &s;  // .symtab comes first, so it wins over .dynsym
  }
  return nullptr;
}

std::vector<ElfNote> ElfFile::notes() const {
  // Sections first: Go 1.24+ puts .note.gnu.build-id outside the PT_NOTE segment. Cores have no
  // sections, only PT_NOTE segments.
  std::vector<ElfNote> out;
  for (const auto& s : sections_) {
    if (s.type == SHT_NOTE) parse_notes(section_data(s), out);
  }
  if (!out.empty()) return out;
  for (const auto& p : segments_) {
    if (p.type == PT_NOTE) {
      parse_notes(slice(bytes_, p.offset, p.filesz, name_ + ": note segment"), out);
    }
  }
  return out;
}

// Build ids are optional: a corrupt note yields no id rather than an unreadable file.
std::string ElfFile::gnu_build_id() const {
  try {
    for (const auto& n : notes()) {
      if (n.name == "GNU" && n.type == NT_GNU_BUILD_ID) return hex(n.desc);
    }
  } catch (const Error&) {
  }
  return {};
}

std::string ElfFile::go_build_id() const {
  try {
    for (const auto& n : notes()) {
      if (n.name == "Go" && n.type == 4) return std::string(as_string(n.desc));
    }
  } catch (const Error&) {
  }
  return {};
}

std::optional<Bytes> ElfFile::file_bytes_at(uint64_t vaddr, uint64_t len) const {
  for (const auto& p : segments_) {
    if (p.type != PT_LOAD || vaddr < p.vaddr) continue;
    uint64_t off = vaddr - p.vaddr;
    if (!in_bounds(off, len, p.filesz)) continue;
    if (!in_bounds(p.offset + off, len, bytes_.size())) return std::nullopt;
    return bytes_.subspan(p.offset + off, len);
  }
  return std::nullopt;
}

std::optional<uint64_t> ElfFile::pointer_at(uint64_t vaddr) const {
  auto it = std::lower_bound(relative_relocs_.begin(), relative_relocs_.end(),
                             std::pair<uint64_t, uint64_t>{vaddr, 0});
  if (it != relative_relocs_.end() && it->first == vaddr) return it->second;
  auto b = file_bytes_at(vaddr, 8);
  if (!b) return std::nullopt;
  return load_le<uint64_t>(b->data());
}

std::vector<uint64_t> ElfFile::relocations_to(uint64_t value) const {
  std::vector<uint64_t> out;
  for (const auto& [offset, addend] : relative_relocs_) {
    if (addend == value) out.push_back(offset);
  }
  return out;
}

}  // namespace ifx
