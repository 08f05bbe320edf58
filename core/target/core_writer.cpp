// ELF core layout: header, program headers (PT_NOTE first), notes, [section header 0 when the
// segment count needs PN_XNUM], then page-aligned segment data in program-header order, then
// the one block of zeros that every `zeros` segment points at.
#include "core/target/core_writer.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/procfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/util/error.h"

namespace ifx {
namespace {

constexpr uint64_t kPage = 4096;

// gdb and the kernel agree on these amd64 layouts; a different libc header would break cores.
static_assert(sizeof(elf_prstatus) == 336);
static_assert(sizeof(elf_prpsinfo) == 136);
static_assert(sizeof(user_regs_struct) == sizeof(elf_gregset_t));
static_assert(sizeof(user_fpregs_struct) == 512);

uint64_t align_up(uint64_t v, uint64_t a) {
  return (v + a - 1) / a * a;
}

template <typename T>
void append_pod(std::vector<uint8_t>& out, const T& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof v);
}

void pad4(std::vector<uint8_t>& out) {
  out.resize(align_up(out.size(), 4), 0);
}

void add_note(std::vector<uint8_t>& out, std::string_view name, uint32_t type,
              std::span<const uint8_t> desc) {
  Elf64_Nhdr h{static_cast<Elf64_Word>(name.size() + 1), static_cast<Elf64_Word>(desc.size()),
               type};
  append_pod(out, h);
  out.insert(out.end(), name.begin(), name.end());
  out.push_back(0);
  pad4(out);
  out.insert(out.end(), desc.begin(), desc.end());
  pad4(out);
}

template <typename T>
std::span<const uint8_t> bytes_of(const T& v) {
  return {reinterpret_cast<const uint8_t*>(&v), sizeof v};
}

timeval ticks_to_timeval(uint64_t ticks) {
  long hz = ::sysconf(_SC_CLK_TCK);
  if (hz <= 0) hz = 100;
  auto uhz = static_cast<uint64_t>(hz);
  return timeval{static_cast<time_t>(ticks / uhz),
                 static_cast<suseconds_t>(ticks % uhz * 1000000 / uhz)};
}

elf_prstatus make_prstatus(const CoreProcess& p, const CoreThread& t) {
  elf_prstatus s{};
  s.pr_sigpend = t.sig_pending;
  s.pr_sighold = t.sig_blocked;
  s.pr_pid = t.tid;
  s.pr_ppid = p.ppid;
  s.pr_pgrp = p.pgrp;
  s.pr_sid = p.sid;
  s.pr_utime = ticks_to_timeval(t.utime_ticks);
  s.pr_stime = ticks_to_timeval(t.stime_ticks);
  std::memcpy(&s.pr_reg, &t.regs, sizeof t.regs);
  s.pr_fpvalid = t.has_fpregs ? 1 : 0;
  return s;
}

elf_prpsinfo make_prpsinfo(const CoreProcess& p) {
  elf_prpsinfo s{};
  static constexpr std::string_view kStates = "RSDTZW";  // pr_state numbering, as the kernel's
  size_t idx = kStates.find(p.state);
  s.pr_state = static_cast<char>(idx == std::string_view::npos ? 0 : idx);
  s.pr_sname = p.state;
  s.pr_zomb = p.state == 'Z' ? 1 : 0;
  s.pr_nice = static_cast<char>(p.nice);
  s.pr_flag = p.flags;
  s.pr_uid = p.uid;
  s.pr_gid = p.gid;
  s.pr_pid = p.pid;
  s.pr_ppid = p.ppid;
  s.pr_pgrp = p.pgrp;
  s.pr_sid = p.sid;
  std::memcpy(s.pr_fname, p.comm.data(), std::min(p.comm.size(), sizeof s.pr_fname - 1));
  std::memcpy(s.pr_psargs, p.psargs.data(), std::min(p.psargs.size(), sizeof s.pr_psargs - 1));
  return s;
}

std::vector<uint8_t> nt_file(const std::vector<Mapping>& files) {
  std::vector<uint8_t> d;
  append_pod(d, static_cast<uint64_t>(files.size()));
  append_pod(d, kPage);  // file offsets below are in units of this
  for (const auto& m : files) {
    append_pod(d, m.start.value());
    append_pod(d, m.end.value());
    append_pod(d, m.offset / kPage);
  }
  for (const auto& m : files) {
    d.insert(d.end(), m.path.begin(), m.path.end());
    d.push_back(0);
  }
  return d;
}

// Writes all of buf, retrying short writes; false with errno on failure.
bool write_all(int fd, const uint8_t* buf, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, buf, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    buf += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

std::vector<uint8_t> build_core_notes(const CoreImage& image) {
  // Kernel order: the first thread's NT_PRSTATUS, the process notes, its NT_FPREGSET, then the
  // other threads. Debuggers attach each NT_FPREGSET to the NT_PRSTATUS before it.
  std::vector<uint8_t> out;
  bool first = true;
  for (const auto& t : image.threads) {
    add_note(out, "CORE", NT_PRSTATUS, bytes_of(make_prstatus(image.process, t)));
    if (first) {
      add_note(out, "CORE", NT_PRPSINFO, bytes_of(make_prpsinfo(image.process)));
      if (!image.auxv.empty()) add_note(out, "CORE", NT_AUXV, image.auxv);
      if (!image.files.empty()) add_note(out, "CORE", NT_FILE, nt_file(image.files));
      first = false;
    }
    if (t.has_fpregs) add_note(out, "CORE", NT_FPREGSET, bytes_of(t.fpregs));
  }
  if (image.threads.empty()) {
    add_note(out, "CORE", NT_PRPSINFO, bytes_of(make_prpsinfo(image.process)));
  }
  struct {
    uint32_t version = kIfxrayNoteVersion;
    uint32_t zero = 0;
    int64_t monotonic_ns = -1;
  } ifxray;
  if (image.monotonic_ns) ifxray.monotonic_ns = *image.monotonic_ns;
  add_note(out, "IFXRAY", kIfxrayNoteType, bytes_of(ifxray));
  return out;
}

CoreWriteResult write_core(const std::string& path, const CoreImage& image, Memory& memory) {
  std::vector<uint8_t> notes = build_core_notes(image);
  uint64_t phnum = 1 + image.segments.size();
  bool xnum = phnum >= PN_XNUM;  // the real count goes to section header 0's sh_info
  uint64_t notes_off = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr);
  uint64_t shdr_off = align_up(notes_off + notes.size(), 8);
  uint64_t data_off = align_up(shdr_off + (xnum ? sizeof(Elf64_Shdr) : 0), kPage);

  std::vector<uint8_t> head;
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
  eh.e_type = ET_CORE;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_phoff = sizeof(Elf64_Ehdr);
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = static_cast<Elf64_Half>(xnum ? PN_XNUM : phnum);
  if (xnum) {
    eh.e_shoff = shdr_off;
    eh.e_shentsize = sizeof(Elf64_Shdr);
    eh.e_shnum = 1;
  }
  append_pod(head, eh);
  Elf64_Phdr note{};
  note.p_type = PT_NOTE;
  note.p_offset = notes_off;
  note.p_filesz = notes.size();
  note.p_align = 4;
  append_pod(head, note);
  uint64_t data_size = 0, zero_block = 0;
  for (const auto& s : image.segments) {
    if (s.zeros) {
      zero_block = std::max(zero_block, align_up(s.filesz, kPage));
    } else {
      data_size += align_up(s.filesz, kPage);
    }
  }
  uint64_t zero_off = data_off + data_size;  // the zero block follows the data
  uint64_t off = data_off;
  CoreWriteResult result;
  for (const auto& s : image.segments) {
    Elf64_Phdr ph{};
    ph.p_type = PT_LOAD;
    ph.p_flags = s.flags;
    ph.p_offset = s.zeros ? zero_off : off;
    ph.p_vaddr = s.vaddr.value();
    ph.p_filesz = s.filesz;
    ph.p_memsz = s.memsz;
    ph.p_align = kPage;
    append_pod(head, ph);
    if (s.zeros) continue;
    off += align_up(s.filesz, kPage);
    result.data_bytes += s.filesz;
  }
  result.data_bytes += zero_block;
  head.insert(head.end(), notes.begin(), notes.end());
  head.resize(shdr_off, 0);
  if (xnum) {
    Elf64_Shdr sh{};
    sh.sh_type = SHT_NULL;
    sh.sh_info = static_cast<Elf64_Word>(phnum);
    append_pod(head, sh);
  }
  head.resize(data_off, 0);

  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot create {}: {}", path, std::strerror(errno));
  auto fail_write = [&] {
    int err = errno;
    ::close(fd);
    ::unlink(path.c_str());
    fail("cannot write {}: {}", path, std::strerror(err));
  };
  if (!write_all(fd, head.data(), head.size())) fail_write();
  std::vector<uint8_t> buf(1 << 20);
  for (const auto& s : image.segments) {
    if (s.zeros) continue;
    uint64_t padded = align_up(s.filesz, kPage);
    for (uint64_t done = 0; done < padded;) {
      size_t n = std::min<uint64_t>(buf.size(), padded - done);
      size_t want = done < s.filesz ? std::min<uint64_t>(n, s.filesz - done) : 0;
      size_t got = want > 0 ? memory.read(s.vaddr + done, std::span(buf.data(), want)) : 0;
      std::memset(buf.data() + got, 0, n - got);  // unreadable bytes and padding: zeros
      result.unreadable_bytes += want - got;
      if (!write_all(fd, buf.data(), n)) fail_write();
      done += n;
    }
  }
  std::fill(buf.begin(), buf.end(), 0);
  for (uint64_t done = 0; done < zero_block;) {
    size_t n = std::min<uint64_t>(buf.size(), zero_block - done);
    if (!write_all(fd, buf.data(), n)) fail_write();
    done += n;
  }
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    fail("cannot write {}: {}", path, std::strerror(err));
  }
  result.file_size = off + zero_block;
  return result;
}

}  // namespace ifx
