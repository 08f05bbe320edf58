// Core targets over small synthetic cores: segments, notes, the executable and its build check,
// truncation and corrupt headers.
#include <doctest/doctest.h>

#include <elf.h>
#include <sys/procfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/target/core_target.h"
#include "core/target/core_writer.h"
#include "core/target/open_target.h"

namespace {

using Buf = std::vector<uint8_t>;

constexpr uint64_t kExeBase = 0x400000;
constexpr uint64_t kHeap = 0xc000000000;
constexpr uint64_t kStack = 0x7ffff0000000;
constexpr uint64_t kPage = 0x1000;

template <typename T>
void put(Buf& b, const T& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  b.insert(b.end(), p, p + sizeof v);
}
template <typename T>
void put_at(Buf& b, size_t off, const T& v) {
  if (b.size() < off + sizeof v) b.resize(off + sizeof v);
  std::memcpy(b.data() + off, &v, sizeof v);
}
void pad4(Buf& b) {
  b.resize((b.size() + 3) / 4 * 4);
}

Buf note(const std::string& name, uint32_t type, const Buf& desc) {
  Buf b;
  put(b, uint32_t(name.size() + 1));
  put(b, uint32_t(desc.size()));
  put(b, type);
  b.insert(b.end(), name.begin(), name.end());
  b.push_back(0);
  pad4(b);
  b.insert(b.end(), desc.begin(), desc.end());
  pad4(b);
  return b;
}

template <typename T>
Buf bytes_of(const T& v) {
  Buf b;
  put(b, v);
  return b;
}

Buf pattern(size_t n, uint8_t seed) {
  Buf b(n);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t(seed + i * 7);
  return b;
}

struct Load {
  uint64_t vaddr;
  uint32_t flags;
  Buf data;  // filesz = data.size()
  uint64_t memsz;
};

// ELF header, PT_NOTE + PT_LOAD headers, notes, then segment data (in order).
Buf build_elf(uint16_t type, const Buf& notes, const std::vector<Load>& loads, uint64_t align = 8) {
  Buf b(sizeof(Elf64_Ehdr));
  Elf64_Ehdr h{};
  std::memcpy(h.e_ident, ELFMAG, SELFMAG);
  h.e_ident[EI_CLASS] = ELFCLASS64;
  h.e_ident[EI_DATA] = ELFDATA2LSB;
  h.e_ident[EI_VERSION] = EV_CURRENT;
  h.e_type = type;
  h.e_machine = EM_X86_64;
  h.e_version = EV_CURRENT;
  h.e_phoff = sizeof h;
  h.e_ehsize = sizeof h;
  h.e_phentsize = sizeof(Elf64_Phdr);
  h.e_phnum = uint16_t(loads.size() + (notes.empty() ? 0 : 1));
  std::memcpy(b.data(), &h, sizeof h);
  uint64_t off = sizeof h + h.e_phnum * sizeof(Elf64_Phdr);
  std::vector<Elf64_Phdr> ph;
  if (!notes.empty()) {
    ph.push_back({PT_NOTE, 0, off, 0, 0, notes.size(), 0, 4});
    off += notes.size();
  }
  for (const auto& l : loads) {
    off = (off + align - 1) / align * align;
    ph.push_back({PT_LOAD, l.flags, off, l.vaddr, 0, l.data.size(), l.memsz, kPage});
    off += l.data.size();
  }
  for (const auto& p : ph) put(b, p);
  b.insert(b.end(), notes.begin(), notes.end());
  for (size_t i = 0; i < loads.size(); ++i) {
    b.resize(ph[i + (notes.empty() ? 0 : 1)].p_offset);
    b.insert(b.end(), loads[i].data.begin(), loads[i].data.end());
  }
  return b;
}

// A two-page executable: headers and a Go build ID note in page 1, a pattern in page 2.
Buf build_exe(const std::string& go_id) {
  Buf id(go_id.begin(), go_id.end());
  Buf b = build_elf(ET_EXEC, {}, {{kExeBase, PF_R | PF_X, {}, 2 * kPage}});
  auto* ph = reinterpret_cast<Elf64_Phdr*>(b.data() + sizeof(Elf64_Ehdr));
  ph->p_offset = 0;
  ph->p_filesz = 2 * kPage;
  // Replace the lone PT_LOAD header list with PT_LOAD + PT_NOTE (the note at 0xf00).
  Buf n = note("Go", 4, id);
  reinterpret_cast<Elf64_Ehdr*>(b.data())->e_phnum = 2;
  Elf64_Phdr np{PT_NOTE, PF_R, 0xf00, kExeBase + 0xf00, 0, n.size(), n.size(), 4};
  b.resize(2 * kPage);
  std::memcpy(b.data() + sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr), &np, sizeof np);
  std::memcpy(b.data() + 0xf00, n.data(), n.size());
  Buf page2 = pattern(kPage, 3);
  std::memcpy(b.data() + kPage, page2.data(), kPage);
  return b;
}

Buf prstatus(int tid, uint64_t rip) {
  elf_prstatus st{};
  st.pr_pid = tid;
  user_regs_struct regs{};
  regs.rip = rip;
  std::memcpy(&st.pr_reg, &regs, sizeof regs);
  return bytes_of(st);
}

Buf prpsinfo(int pid, const std::string& fname, const std::string& psargs) {
  elf_prpsinfo ps{};
  ps.pr_pid = pid;
  ps.pr_sname = 'R';
  std::strncpy(ps.pr_fname, fname.c_str(), sizeof ps.pr_fname - 1);
  std::strncpy(ps.pr_psargs, psargs.c_str(), sizeof ps.pr_psargs - 1);
  return bytes_of(ps);
}

struct FileEntry {
  uint64_t start, end, page_offset;
  std::string path;
};
Buf file_note(const std::vector<FileEntry>& files) {
  Buf b;
  put(b, uint64_t(files.size()));
  put(b, kPage);
  for (const auto& f : files) {
    put(b, f.start);
    put(b, f.end);
    put(b, f.page_offset);
  }
  for (const auto& f : files) {
    b.insert(b.end(), f.path.begin(), f.path.end());
    b.push_back(0);
  }
  return b;
}

// The initial stack: argc, argv, NULL, envp, NULL, auxv, then the strings.
Buf initial_stack(const std::vector<std::pair<uint64_t, uint64_t>>& auxv) {
  Buf s(kPage);
  const char strings[] = "prog\0arg one\0HOME=/\0/bin/prog";
  std::memcpy(s.data() + 0x800, strings, sizeof strings);
  size_t w = 0x100;
  for (uint64_t v :
       {uint64_t{2}, kStack + 0x800, kStack + 0x805, uint64_t{0}, kStack + 0x80d, uint64_t{0}}) {
    put_at(s, w, v);
    w += 8;
  }
  for (const auto& [t, v] : auxv) {
    put_at(s, w, t);
    put_at(s, w + 8, v);
    w += 16;
  }
  return s;  // AT_NULL: the zeros that follow
}

struct Fixture {
  std::filesystem::path dir;
  std::string exe, core;
  Buf exe_bytes;

  Fixture() {
    char tmpl[] = "/tmp/ifxray-core-test-XXXXXX";
    dir = ::mkdtemp(tmpl);
    exe = (dir / "prog").string();
    core = (dir / "core").string();
    exe_bytes = build_exe("goid/ok");
    write(exe, exe_bytes);
  }
  ~Fixture() { std::filesystem::remove_all(dir); }

  static void write(const std::string& path, const Buf& b) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
  }

  // A core of `exe`: its first page dumped (or not), two contiguous heap pages, a half-dumped
  // anonymous mapping, the initial stack; NT_FILE names exe_in_core.
  Buf core_bytes(bool first_page = true, bool ifxray = false, std::string exe_in_core = "") {
    if (exe_in_core.empty()) exe_in_core = exe;
    std::vector<std::pair<uint64_t, uint64_t>> auxv{
        {AT_PHDR, kExeBase + 0x40}, {AT_ENTRY, kExeBase + kPage}, {AT_EXECFN, kStack + 0x814}};
    Buf aux;
    for (const auto& [t, v] : auxv) {
      put(aux, t);
      put(aux, v);
    }
    put(aux, uint64_t{AT_NULL});
    put(aux, uint64_t{0});
    Buf notes = note("CORE", NT_PRPSINFO, prpsinfo(42, "prog", "prog arg one"));
    for (auto [tid, rip] : {std::pair{42, 0x401000}, {43, 0x401010}}) {
      Buf n = note("CORE", NT_PRSTATUS, prstatus(tid, rip));
      notes.insert(notes.end(), n.begin(), n.end());
    }
    for (const Buf& n :
         {note("CORE", NT_AUXV, aux),
          note("CORE", NT_FILE, file_note({{kExeBase, kExeBase + 2 * kPage, 0, exe_in_core}}))}) {
      notes.insert(notes.end(), n.begin(), n.end());
    }
    if (ifxray) {
      Buf n = note("IFXRAY", ifx::kIfxrayNoteType, bytes_of(ifx::kIfxrayNoteVersion));
      notes.insert(notes.end(), n.begin(), n.end());
    }
    Buf page1(exe_bytes.begin(), exe_bytes.begin() + (first_page ? kPage : 0));
    return build_elf(ET_CORE, notes,
                     {{kExeBase, PF_R | PF_X, page1, 2 * kPage},
                      {kHeap, PF_R | PF_W, pattern(kPage, 1), kPage},
                      {kHeap + kPage, PF_R | PF_W, pattern(kPage, 2), kPage},
                      {kHeap + 0x10000, PF_R | PF_W, pattern(kPage, 5), 4 * kPage},
                      {kStack, PF_R | PF_W, initial_stack(auxv), kPage}});
  }

  std::unique_ptr<ifx::Target> open(const Buf& b, ifx::TargetOptions opts = {}) {
    write(core, b);
    return ifx::open_core(core, opts);
  }
};

ifx::RemoteAddr at(uint64_t a) {
  return ifx::RemoteAddr(a);
}

bool has_warning(const ifx::Target& t, const std::string& part) {
  for (const auto& w : t.warnings()) {
    if (w.find(part) != std::string::npos) return true;
  }
  return false;
}

ifx::ExitCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ifx::Error& e) {
    return e.code();
  }
  return ifx::ExitCode::kOk;
}

}  // namespace

TEST_CASE("core: threads, process, auxv, mappings and command line from the notes") {
  Fixture fx;
  auto t = fx.open(fx.core_bytes());
  CHECK_FALSE(t->is_live());
  CHECK(t->pid() == 42);
  CHECK(t->exe_path() == fx.exe);
  REQUIRE(t->threads().size() == 2);
  CHECK(t->threads()[1].tid == 43);
  CHECK(t->threads()[1].has_regs);
  CHECK(t->threads()[1].regs.rip == 0x401010);
  CHECK(t->threads()[0].name == "prog");
  CHECK(t->aux_value(AT_ENTRY) == kExeBase + kPage);
  CHECK(t->cmdline() == std::vector<std::string>{"prog", "arg one"});  // from the stack
  REQUIRE(t->mappings().size() == 5);
  CHECK(t->mappings()[0].path == fx.exe);
  CHECK(t->mappings()[0].perms == "r-xp");
  CHECK(t->mappings()[0].end == at(kExeBase + 2 * kPage));
  CHECK(t->mappings()[1].path.empty());
  CHECK(t->mappings()[4].path == "[stack]");
  CHECK(t->warnings().empty());
}

TEST_CASE("core: reads cross contiguous segments and stop at gaps") {
  Fixture fx;
  auto t = fx.open(fx.core_bytes());
  auto& m = t->memory();
  Buf out(32);
  CHECK(m.read(at(kHeap + kPage - 16), out) == 32);
  Buf want1 = pattern(kPage, 1), want2 = pattern(kPage, 2);
  CHECK(std::equal(out.begin(), out.begin() + 16, want1.end() - 16));
  CHECK(std::equal(out.begin() + 16, out.end(), want2.begin()));
  CHECK(m.read(at(kHeap + 2 * kPage - 8), out) == 8);  // then a gap
  CHECK(m.why_unreadable(at(kHeap + 2 * kPage), 1) == "not mapped");
  CHECK(m.why_unreadable(at(kHeap), 16).empty());
  CHECK(m.read(at(0x10), out) == 0);
  CHECK_FALSE(m.read_u64(at(UINT64_MAX - 3)));
  CHECK(t->stats().bytes_read == 40);
  CHECK(t->stats().pause_ms == 0);
}

TEST_CASE("core: what the dumper skipped comes from the mapped file, or is unreadable") {
  Fixture fx;
  auto t = fx.open(fx.core_bytes());
  auto& m = t->memory();
  Buf out(32);
  // Page 1 of the executable is in the core, page 2 only in the file.
  REQUIRE(m.read(at(kExeBase + kPage - 16), out) == 32);
  CHECK(std::equal(out.begin(), out.end(), fx.exe_bytes.begin() + kPage - 16));
  // Anonymous memory past filesz: skipped, with a reason.
  CHECK(m.read(at(kHeap + 0x10000 + kPage - 8), out) == 8);
  CHECK(m.why_unreadable(at(kHeap + 0x10000 + kPage), 8) ==
        "not in the core: the dumper skipped it");
  CHECK(m.why_unreadable(at(kHeap + 0x10000), 2 * kPage).find("skipped") != std::string::npos);
}

TEST_CASE("core: ifxray's IFXRAY note makes skipped anonymous pages read as zeros") {
  Fixture fx;
  auto t = fx.open(fx.core_bytes(true, true));
  Buf out(16, 0xff);
  REQUIRE(t->memory().read(at(kHeap + 0x10000 + kPage - 8), out) == 16);
  CHECK(out[7] != 0);
  CHECK(std::all_of(out.begin() + 8, out.end(), [](uint8_t c) { return c == 0; }));
}

TEST_CASE("core: a truncated core names the missing ranges and serves the rest") {
  Fixture fx;
  Buf b = fx.core_bytes();
  auto* ph = reinterpret_cast<Elf64_Phdr*>(b.data() + sizeof(Elf64_Ehdr));
  b.resize(ph[4].p_offset + 0x100);  // PT_NOTE is ph[0]; cut 0x100 into the 4th PT_LOAD
  auto t = fx.open(b);
  REQUIRE(has_warning(*t, "is truncated"));
  CHECK(has_warning(*t, "2 ranges (0xc000010100-0xc000011000, 0x7ffff0000000-0x7ffff0001000)"));
  auto& m = t->memory();
  CHECK(m.read_u64(at(kHeap + 0x10000 + 0xf8)));
  CHECK_FALSE(m.read_u64(at(kHeap + 0x10000 + 0x100)));
  CHECK(m.why_unreadable(at(kHeap + 0x10000 + 0x100), 8) ==
        "not in the core: the core is truncated");
  CHECK(t->cmdline() == std::vector<std::string>{"prog", "arg", "one"});  // psargs: no stack
}

TEST_CASE("core: the executable must be the build the core was made from") {
  Fixture fx;
  Buf core = fx.core_bytes();
  std::string other = (fx.dir / "other").string();
  Fixture::write(other, build_exe("goid/other"));
  ifx::TargetOptions opts;
  opts.exe = other;
  CHECK(code_of([&] { fx.open(core, opts); }) == ifx::ExitCode::kMismatch);
  CHECK_THROWS_WITH_AS(fx.open(core, opts), doctest::Contains("goid/other"), ifx::Error);
  opts.force = true;
  auto t = fx.open(core, opts);
  CHECK(t->exe_path() == other);
  CHECK(has_warning(*t, "--force"));
  // Page 2 now comes from --exe's file, which stands in for the core's path.
  Buf want = pattern(kPage, 3), out(8);
  REQUIRE(t->memory().read(at(kExeBase + kPage), out) == 8);
  CHECK(std::equal(out.begin(), out.end(), want.begin()));
}

TEST_CASE("core: without the first page the build cannot be checked") {
  Fixture fx;
  auto t = fx.open(fx.core_bytes(false));
  CHECK(has_warning(*t, "could not check"));
  CHECK(t->memory().read_u64(at(kExeBase)));  // from the file
}

TEST_CASE("core: a missing executable asks for --exe") {
  Fixture fx;
  Buf b = fx.core_bytes(true, false, "/nonexistent/prog");
  CHECK_THROWS_WITH_AS(fx.open(b), doctest::Contains("--exe"), ifx::Error);
  ifx::TargetOptions opts;
  opts.exe = "/nonexistent/exe";
  CHECK_THROWS_WITH_AS(fx.open(b, opts), doctest::Contains("/nonexistent/exe"), ifx::Error);
  opts.exe = fx.exe;
  auto t = fx.open(b, opts);  // --exe stands in for the missing path
  CHECK(t->memory().read_u64(at(kExeBase + kPage)));
}

TEST_CASE("core: files that are not cores") {
  Fixture fx;
  CHECK_THROWS_WITH_AS(fx.open(Buf{'h', 'i'}), doctest::Contains("not a core file"), ifx::Error);
  CHECK_THROWS_WITH_AS(ifx::open_core(fx.exe, {}), doctest::Contains("executable"), ifx::Error);
  CHECK_THROWS_WITH_AS(ifx::open_core(fx.dir.string() + "/none", {}),
                       doctest::Contains("cannot open"), ifx::Error);
  CHECK(code_of([&] { fx.open(Buf{}); }) == ifx::ExitCode::kUnreadableTarget);
}

TEST_CASE("core: absurd counts and sizes fail cleanly") {
  Fixture fx;
  Buf good = fx.core_bytes();
  auto* h = reinterpret_cast<Elf64_Ehdr*>(good.data());
  auto* ph = reinterpret_cast<Elf64_Phdr*>(good.data() + sizeof(Elf64_Ehdr));

  Buf b = good;  // 2^31 segments through extended numbering (count in section 0's sh_info)
  Elf64_Shdr sh0{};
  sh0.sh_info = 0x80000000u;
  auto* bh = reinterpret_cast<Elf64_Ehdr*>(b.data());
  bh->e_phnum = PN_XNUM;
  bh->e_shoff = b.size();
  bh->e_shnum = 1;
  bh->e_shentsize = sizeof sh0;
  put(b, sh0);
  CHECK_THROWS_WITH_AS(fx.open(b), doctest::Contains("truncated"), ifx::Error);

  b = good;  // a note claiming 4 GiB of name
  put_at(b, ph[0].p_offset, uint32_t{0xffffffff});
  CHECK_THROWS_WITH_AS(fx.open(b), doctest::Contains("corrupt notes"), ifx::Error);

  b = good;  // notes past the end of the file (gdb writes them last)
  reinterpret_cast<Elf64_Phdr*>(b.data() + h->e_phoff)->p_offset = b.size() - 8;
  CHECK_THROWS_WITH_AS(fx.open(b), doctest::Contains("truncated"), ifx::Error);

  // An NT_FILE note claiming 2^60 entries is skipped with a warning.
  Buf n = note("CORE", NT_FILE, file_note({{1, 2, 0, "x"}}));
  put_at(n, 20, uint64_t{1} << 60);
  Buf c = build_elf(ET_CORE, n, {{kHeap, PF_R, pattern(64, 1), 64}});
  ifx::TargetOptions opts;
  opts.exe = fx.exe;
  auto t = fx.open(c, opts);
  CHECK(has_warning(*t, "NT_FILE note claims"));
  CHECK(has_warning(*t, "no NT_PRSTATUS"));
  CHECK(has_warning(*t, "could not check"));
  CHECK(t->memory().read_u64(at(kHeap)));
}

TEST_CASE("core: thousands of segments stay fast to look up") {
  Fixture fx;
  std::vector<Load> loads;
  for (uint64_t i = 0; i < 5000; ++i)
    loads.push_back({kHeap + i * 2 * kPage, PF_R, pattern(16, uint8_t(i)), kPage});
  ifx::TargetOptions opts;
  opts.exe = fx.exe;
  auto t = fx.open(build_elf(ET_CORE, note("CORE", NT_PRSTATUS, prstatus(1, 0)), loads), opts);
  REQUIRE(t->mappings().size() == 5000);
  uint8_t byte = 0;
  for (uint64_t i = 0; i < 5000; ++i) {
    REQUIRE(t->memory().read(at(kHeap + i * 2 * kPage + 1), std::span<uint8_t>(&byte, 1)) == 1);
    REQUIRE(byte == uint8_t(i + 7));
  }
  CHECK(t->memory().why_unreadable(at(kHeap + kPage), 1) == "not mapped");
}

TEST_CASE("core: NT_FILE ranges no PT_LOAD covers are read from the file (gdb leaves some out)") {
  Fixture fx;
  Buf notes = note("CORE", NT_FILE, file_note({{kExeBase, kExeBase + 2 * kPage, 0, fx.exe}}));
  Buf middle(fx.exe_bytes.begin() + 0x800, fx.exe_bytes.begin() + 0x1000);
  ifx::TargetOptions opts;
  opts.exe = fx.exe;
  auto t =
      fx.open(build_elf(ET_CORE, notes, {{kExeBase + 0x800, PF_R | PF_X, middle, 0x800}}), opts);
  REQUIRE(t->mappings().size() == 3);
  CHECK(t->mappings()[0].end == at(kExeBase + 0x800));
  CHECK(t->mappings()[1].perms == "r-xp");
  CHECK(t->mappings()[2].start == at(kExeBase + kPage));
  CHECK(t->mappings()[2].perms == "r--p");
  CHECK(t->mappings()[2].offset == kPage);
  Buf out(2 * kPage);
  REQUIRE(t->memory().read(at(kExeBase), out) == out.size());
  CHECK(out == fx.exe_bytes);
}
