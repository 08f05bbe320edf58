// ELF parsing: rejects what is not a 64-bit little-endian ELF, bounds every header table.
#include <doctest/doctest.h>

#include <elf.h>

#include <cstring>
#include <vector>

#include "core/binary/build_info.h"
#include "core/binary/elf_file.h"

namespace {

std::vector<uint8_t> minimal_elf() {
  std::vector<uint8_t> b(sizeof(Elf64_Ehdr));
  Elf64_Ehdr h{};
  std::memcpy(h.e_ident, ELFMAG, SELFMAG);
  h.e_ident[EI_CLASS] = ELFCLASS64;
  h.e_ident[EI_DATA] = ELFDATA2LSB;
  h.e_type = ET_EXEC;
  h.e_machine = EM_X86_64;
  h.e_ehsize = sizeof(Elf64_Ehdr);
  h.e_phentsize = sizeof(Elf64_Phdr);
  h.e_shentsize = sizeof(Elf64_Shdr);
  std::memcpy(b.data(), &h, sizeof h);
  return b;
}

}  // namespace

TEST_CASE("not ELF") {
  std::vector<uint8_t> text{'h', 'e', 'l', 'l', 'o'};
  CHECK_THROWS_WITH_AS(ifx::ElfFile(ifx::Bytes(text), "x"), doctest::Contains("not an ELF file"),
                       ifx::Error);
  std::vector<uint8_t> empty;
  CHECK_THROWS_WITH_AS(ifx::ElfFile(ifx::Bytes(empty), "x"), doctest::Contains("empty file"),
                       ifx::Error);
}

TEST_CASE("wrong class, order or machine") {
  auto b = minimal_elf();
  b[EI_CLASS] = ELFCLASS32;
  CHECK_THROWS_WITH_AS(ifx::ElfFile(ifx::Bytes(b), "x"), doctest::Contains("64-bit"), ifx::Error);
  b = minimal_elf();
  b[EI_DATA] = ELFDATA2MSB;
  CHECK_THROWS_WITH_AS(ifx::ElfFile(ifx::Bytes(b), "x"), doctest::Contains("little-endian"),
                       ifx::Error);
  b = minimal_elf();
  b[offsetof(Elf64_Ehdr, e_machine)] = EM_386;
  CHECK_THROWS_WITH_AS(ifx::ElfFile(ifx::Bytes(b), "x"), doctest::Contains("machine"), ifx::Error);
}

TEST_CASE("header tables past the end of the file") {
  auto b = minimal_elf();
  auto* h = reinterpret_cast<Elf64_Ehdr*>(b.data());
  h->e_shoff = 0x1000;
  h->e_shnum = 3;
  CHECK_THROWS_WITH_AS(ifx::ElfFile(ifx::Bytes(b), "x"), doctest::Contains("truncated"),
                       ifx::Error);
  b = minimal_elf();
  h = reinterpret_cast<Elf64_Ehdr*>(b.data());
  h->e_phoff = sizeof(Elf64_Ehdr);
  h->e_phnum = 0xfff0;
  CHECK_THROWS_WITH_AS(ifx::ElfFile(ifx::Bytes(b), "x"), doctest::Contains("truncated"),
                       ifx::Error);
}

TEST_CASE("a header-only ELF has nothing, and no Go build info") {
  auto b = minimal_elf();
  ifx::ElfFile elf(ifx::Bytes(b), "x");
  CHECK(elf.sections().empty());
  CHECK(elf.segments().empty());
  CHECK(elf.gnu_build_id().empty());
  CHECK_FALSE(elf.file_bytes_at(0x400000, 1));
  CHECK_THROWS_WITH_AS(ifx::read_build_info(elf), doctest::Contains("not a Go program"),
                       ifx::Error);
}

TEST_CASE("this test binary: a C++ ELF with sections, symbols and a build id") {
  auto elf = ifx::ElfFile::open("/proc/self/exe");
  CHECK(elf->section(".text") != nullptr);
  CHECK(elf->has_symtab());
  CHECK(elf->symbol("main") != nullptr);
  CHECK_THROWS_WITH_AS(ifx::read_build_info(*elf), doctest::Contains("not a Go program"),
                       ifx::Error);
}

TEST_CASE("opening what is not a regular file") {
  CHECK_THROWS_WITH_AS(ifx::ElfFile::open("/"), doctest::Contains("not a regular file"),
                       ifx::Error);
  CHECK_THROWS_WITH_AS(ifx::ElfFile::open("/nonexistent/ifxray"), doctest::Contains("No such file"),
                       ifx::Error);
}
