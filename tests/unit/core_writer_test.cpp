// The core writer's layout: notes in kernel order, page-aligned data, PN_XNUM past 65534
// segments.
#include <doctest/doctest.h>
#include <elf.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "core/target/core_writer.h"

namespace {

// Memory whose byte at a is (a >> 12) & 0xff: each page holds its page number.
class PageNumbers : public ifx::Memory {
 public:
  size_t read(ifx::RemoteAddr addr, std::span<uint8_t> out) override {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>((addr.value() + i) >> 12);
    return out.size();
  }
  std::string why_unreadable(ifx::RemoteAddr, uint64_t) override { return ""; }
};

std::vector<uint8_t> slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::string temp_path() {
  char name[] = "/tmp/ifxray-core-writer-XXXXXX";
  int fd = ::mkstemp(name);
  REQUIRE(fd >= 0);
  ::close(fd);
  return name;
}

template <typename T>
T at(const std::vector<uint8_t>& b, size_t off) {
  T v;
  REQUIRE(off + sizeof v <= b.size());
  std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}

}  // namespace

TEST_CASE("notes: one NT_PRSTATUS per thread, process notes after the first, IFXRAY last") {
  ifx::CoreImage img;
  img.process.pid = 10;
  img.process.comm = "prog";
  img.threads.resize(2);
  img.threads[0].tid = 10;
  img.threads[0].has_fpregs = true;
  img.threads[1].tid = 11;
  img.auxv.assign(32, 1);
  img.files.push_back(ifx::Mapping{ifx::RemoteAddr(0x400000), ifx::RemoteAddr(0x401000), 0x2000,
                                   "r-xp", "/bin/prog"});
  auto notes = ifx::build_core_notes(img);
  std::vector<std::pair<std::string, uint32_t>> seen;
  for (size_t off = 0; off < notes.size();) {
    auto h = at<Elf64_Nhdr>(notes, off);
    std::string name(reinterpret_cast<const char*>(notes.data() + off + sizeof h), h.n_namesz - 1);
    seen.emplace_back(name, h.n_type);
    if (h.n_type == NT_FILE && name == "CORE") {
      size_t d = off + sizeof h + (h.n_namesz + 3) / 4 * 4;
      CHECK(at<uint64_t>(notes, d) == 1);
      CHECK(at<uint64_t>(notes, d + 8) == 4096);
      CHECK(at<uint64_t>(notes, d + 32) == 2);  // file offset in pages
    }
    off += sizeof h + (h.n_namesz + 3) / 4 * 4 + (h.n_descsz + 3) / 4 * 4;
  }
  std::vector<std::pair<std::string, uint32_t>> want{{"CORE", NT_PRSTATUS},
                                                     {"CORE", NT_PRPSINFO},
                                                     {"CORE", NT_AUXV},
                                                     {"CORE", NT_FILE},
                                                     {"CORE", NT_FPREGSET},
                                                     {"CORE", NT_PRSTATUS},
                                                     {"IFXRAY", ifx::kIfxrayNoteType}};
  CHECK(seen == want);
}

TEST_CASE("segments: data page-aligned, filesz 0 segments take no space") {
  ifx::CoreImage img;
  img.threads.resize(1);
  img.segments.push_back(ifx::CoreSegment{ifx::RemoteAddr(0x10000), 0x3000, 0x1000, PF_R});
  img.segments.push_back(ifx::CoreSegment{ifx::RemoteAddr(0x20000), 0x5000, 0, PF_R | PF_W});
  img.segments.push_back(ifx::CoreSegment{ifx::RemoteAddr(0x30000), 0x2000, 0x2000, PF_R});
  PageNumbers mem;
  std::string path = temp_path();
  auto r = ifx::write_core(path, img, mem);
  auto b = slurp(path);
  std::remove(path.c_str());
  CHECK(r.file_size == b.size());
  CHECK(r.data_bytes == 0x3000);
  auto eh = at<Elf64_Ehdr>(b, 0);
  CHECK(eh.e_type == ET_CORE);
  CHECK(eh.e_phnum == 4);
  auto note = at<Elf64_Phdr>(b, eh.e_phoff);
  CHECK(note.p_type == PT_NOTE);
  auto p1 = at<Elf64_Phdr>(b, eh.e_phoff + sizeof(Elf64_Phdr));
  auto p2 = at<Elf64_Phdr>(b, eh.e_phoff + 2 * sizeof(Elf64_Phdr));
  auto p3 = at<Elf64_Phdr>(b, eh.e_phoff + 3 * sizeof(Elf64_Phdr));
  CHECK(p1.p_offset % 4096 == 0);
  CHECK(p1.p_filesz == 0x1000);
  CHECK(p1.p_memsz == 0x3000);
  CHECK(p2.p_filesz == 0);
  CHECK(p3.p_offset == p1.p_offset + 0x1000);
  CHECK(b[p1.p_offset] == 0x10);
  CHECK(b[p3.p_offset + 0x1000] == 0x31);
  CHECK(b.size() == p3.p_offset + 0x2000);
}

TEST_CASE("65535 or more program headers use PN_XNUM and section header 0") {
  ifx::CoreImage img;
  img.threads.resize(1);
  for (uint64_t i = 0; i < 70000; ++i) {
    img.segments.push_back(
        ifx::CoreSegment{ifx::RemoteAddr(0x100000 + i * 0x2000), 0x1000, 0, PF_R});
  }
  PageNumbers mem;
  std::string path = temp_path();
  ifx::write_core(path, img, mem);
  auto b = slurp(path);
  std::remove(path.c_str());
  auto eh = at<Elf64_Ehdr>(b, 0);
  CHECK(eh.e_phnum == PN_XNUM);
  CHECK(eh.e_shnum == 1);
  REQUIRE(eh.e_shoff != 0);
  auto sh = at<Elf64_Shdr>(b, eh.e_shoff);
  CHECK(sh.sh_info == 70001);
  auto last = at<Elf64_Phdr>(b, eh.e_phoff + 70000 * sizeof(Elf64_Phdr));
  CHECK(last.p_vaddr == 0x100000 + 69999 * 0x2000);
}

TEST_CASE("zeros segments share one block of zeros after the data") {
  ifx::CoreImage img;
  img.threads.resize(1);
  img.segments.push_back(ifx::CoreSegment{ifx::RemoteAddr(0x10000), 0x1000, 0x1000, PF_R});
  img.segments.push_back(ifx::CoreSegment{ifx::RemoteAddr(0x11000), 0x3000, 0x3000, PF_R, true});
  img.segments.push_back(ifx::CoreSegment{ifx::RemoteAddr(0x20000), 0x1000, 0x1000, PF_R});
  img.segments.push_back(ifx::CoreSegment{ifx::RemoteAddr(0x21000), 0x2000, 0x2000, PF_R, true});
  PageNumbers mem;
  std::string path = temp_path();
  auto r = ifx::write_core(path, img, mem);
  auto b = slurp(path);
  std::remove(path.c_str());
  auto eh = at<Elf64_Ehdr>(b, 0);
  auto ph = [&](int i) { return at<Elf64_Phdr>(b, eh.e_phoff + i * sizeof(Elf64_Phdr)); };
  CHECK(ph(2).p_offset == ph(4).p_offset);
  CHECK(ph(3).p_offset == ph(1).p_offset + 0x1000);
  CHECK(ph(2).p_offset == ph(3).p_offset + 0x1000);
  CHECK(ph(2).p_filesz == 0x3000);
  CHECK(ph(4).p_filesz == 0x2000);
  CHECK(b.size() == ph(2).p_offset + 0x3000);
  CHECK(r.file_size == b.size());
  for (uint64_t i = 0; i < 0x3000; ++i) REQUIRE(b[ph(2).p_offset + i] == 0);
  CHECK(b[ph(3).p_offset] == 0x20);
}
