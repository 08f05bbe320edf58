// Compact cores: plan the PT_LOADs from /proc/PID/pagemap while the process is stopped, copy
// the touched pages into the snapshot, let the process run, then write the file.
#include "core/target/gcore.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "core/target/proc_fs.h"

namespace ifx {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kPresent = uint64_t{1} << 63;
constexpr uint64_t kSwapped = uint64_t{1} << 62;
constexpr uint64_t kFilePage = uint64_t{1} << 61;  // file page or shared anonymous
constexpr uint64_t kPfnMask = (uint64_t{1} << 55) - 1;

// The frame number of the kernel's shared zero page, found by read-faulting a page of our own;
// 0 when pagemap hides frame numbers (without CAP_SYS_ADMIN). Pages mapped to it were only
// ever read, never written: they need no copy (a debugger's read of all memory maps it
// everywhere).
uint64_t zero_page_pfn() {
  void* p = ::mmap(nullptr, kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 0;
  volatile const uint8_t* byte = static_cast<const uint8_t*>(p);
  (void)*byte;  // the read fault maps the zero page
  uint64_t entry = 0;
  int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    auto off = static_cast<off_t>(reinterpret_cast<uintptr_t>(p) / kPage * 8);
    if (::pread(fd, &entry, sizeof entry, off) != sizeof entry) entry = 0;
    ::close(fd);
  }
  ::munmap(p, kPage);
  return (entry & kPresent) != 0 ? entry & kPfnMask : 0;
}

// A file a reader can open for the bytes we leave out (NT_FILE names it).
bool readable_file(const Mapping& m) {
  const std::string& p = m.path;
  return !p.empty() && p[0] == '/' && !p.ends_with(" (deleted)") && !p.starts_with("/memfd:") &&
         !p.starts_with("/SYSV") && !p.starts_with("/dev/");
}

// Device memory (not /dev/zero or /dev/shm files) may have side effects when read: never read it.
bool device_mapping(const Mapping& m) {
  return m.path.starts_with("/dev/") && !m.path.starts_with("/dev/shm/") &&
         !m.path.starts_with("/dev/zero");
}

uint32_t pflags(const Mapping& m) {
  return (m.perms[0] == 'r' ? PF_R : 0) | (m.perms[1] == 'w' ? PF_W : 0) |
         (m.perms[2] == 'x' ? PF_X : 0);
}

// Appends the segments of one anonymous or written mapping: each run of touched pages with the
// untouched run after it becomes one PT_LOAD (filesz = touched bytes, memsz = both). With
// `private_copies`, only pages the process copied away from the file count as touched (a PIE's
// RELRO data, relocated at load and then made read-only: the file holds unrelocated bytes).
void plan_touched(const Mapping& m, int pagemap_fd, uint64_t zero_pfn,
                  std::vector<CoreSegment>& out, bool& pagemap_ok, int& pagemap_err,
                  bool private_copies = false) {
  uint32_t flags = pflags(m);
  bool open_segment = false;
  auto add_page = [&](RemoteAddr a, bool touched) {
    CoreSegment* cur = open_segment ? &out.back() : nullptr;
    if (touched && cur != nullptr && cur->filesz == cur->memsz) {
      cur->filesz += kPage;
      cur->memsz += kPage;
    } else if (touched) {
      out.push_back(CoreSegment{a, kPage, kPage, flags});
    } else if (cur != nullptr) {
      cur->memsz += kPage;
    } else {
      out.push_back(CoreSegment{a, kPage, 0, flags});
    }
    open_segment = true;
  };
  std::vector<uint64_t> entries(65536);
  for (RemoteAddr a = m.start; a < m.end;) {
    size_t n = std::min<uint64_t>(entries.size(), (m.end - a) / kPage);
    ssize_t got = -1;
    if (pagemap_ok) {
      got = ::pread(pagemap_fd, entries.data(), n * 8, static_cast<off_t>(a.value() / kPage * 8));
      if (got <= 0) {
        pagemap_ok = false;  // from here on, every page counts as touched
        pagemap_err = got < 0 ? errno : EIO;
      }
    }
    size_t valid = got > 0 ? static_cast<size_t>(got) / 8 : 0;
    for (size_t i = 0; i < n; ++i) {
      uint64_t e = entries[i];
      bool zero_page = zero_pfn != 0 && (e & kPresent) != 0 && (e & kPfnMask) == zero_pfn;
      bool touched = i >= valid || ((e & (kPresent | kSwapped)) != 0 && !zero_page);
      if (private_copies) touched = i >= valid || ((e & kPresent) != 0 && (e & kFilePage) == 0);
      add_page(a + i * kPage, touched);
    }
    a += n * kPage;
  }
}

std::string join_args(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += (s.empty() ? "" : " ") + a;
  return s;
}

CoreImage describe_process(LiveTarget& t, std::vector<std::string>& warnings) {
  CoreImage img;
  CoreProcess& p = img.process;
  p.pid = t.pid();
  if (auto st = procfs::read_stat(t.pid(), t.pid())) {
    p.ppid = st->ppid;
    p.pgrp = st->pgrp;
    p.sid = st->session;
    p.nice = st->nice;
    p.flags = st->flags;
    p.comm = st->comm;
  }
  if (auto status = procfs::read_status(procfs::pid_path(t.pid(), "status"))) {
    p.uid = status->uid;
    p.gid = status->gid;
  }
  if (!t.threads().empty()) p.state = t.threads().front().state;  // as it was before the stop
  p.psargs = join_args(t.cmdline());
  for (const auto& th : t.threads()) {
    if (!th.has_regs) {
      warnings.push_back(fmt::format("thread {} is left out of the core: no registers", th.tid));
      continue;
    }
    CoreThread c;
    c.tid = th.tid;
    c.regs = th.regs;
    if (const auto* fp = t.fpregs(th.tid)) {
      c.has_fpregs = true;
      c.fpregs = *fp;
    }
    if (auto s = procfs::read_status(procfs::task_path(t.pid(), th.tid, "status"))) {
      c.sig_pending = s->sig_pending;
      c.sig_blocked = s->sig_blocked;
    }
    if (auto s = procfs::read_stat(t.pid(), th.tid)) {
      c.utime_ticks = s->utime;
      c.stime_ticks = s->stime;
    }
    img.threads.push_back(c);
  }
  img.auxv = t.auxv_raw();
  for (const auto& m : t.mappings()) {
    if (!m.path.empty() && m.path[0] == '/') img.files.push_back(m);
  }
  return img;
}

// Copies the file bytes of every segment into the target's snapshot, in few system calls.
void copy_segments(LiveTarget& t, const std::vector<PlannedSegment>& segs) {
  std::vector<RemoteRange> ranges;
  for (const auto& p : segs) {
    if (p.segment.filesz > 0) ranges.push_back(RemoteRange{p.segment.vaddr, p.segment.filesz});
  }
  t.capture(ranges);
}

// Appends a run of zeros in anonymous memory: its first kZeroBacked bytes point at the core's
// shared zero block, the rest has no file bytes (the IFXRAY note and gdb read zeros there).
void add_zero_run(std::vector<CoreSegment>& out, RemoteAddr start, uint64_t len, uint32_t flags) {
  if (len == 0) return;
  uint64_t backed = std::min(len, kZeroBacked);
  out.push_back(CoreSegment{start, backed, backed, flags, true});
  if (len > backed) out.push_back(CoreSegment{start + backed, len - backed, 0, flags});
}

}  // namespace

// Touched pages that hold only zeros need no bytes of their own in anonymous memory. This keeps
// cores small even after something (gdb's gcore, say) has faulted the zero page in everywhere.
// Delve reads only p_filesz bytes of each PT_LOAD, and an object's tail may lie in a zero page
// (a g struct whose last fields are zero, at the start of an untouched page): so the first
// kZeroBacked bytes of every zero run point at one shared block of zeros in the file.
std::vector<CoreSegment> segments_for_core(const std::vector<PlannedSegment>& planned,
                                           Memory& memory) {
  std::vector<CoreSegment> out;
  std::vector<uint8_t> page(kPage);
  for (const auto& p : planned) {
    const CoreSegment& s = p.segment;
    if (!p.anonymous) {
      out.push_back(s);
      continue;
    }
    uint64_t data_start = 0, zero_start = 0;  // offsets in s of the open data and zero runs
    bool in_data = false;
    for (uint64_t off = 0; off < s.filesz; off += kPage) {
      size_t got = memory.read(s.vaddr + off, page);
      bool zero =
          got == kPage && std::all_of(page.begin(), page.end(), [](uint8_t b) { return b == 0; });
      if (!zero && !in_data) {
        add_zero_run(out, s.vaddr + zero_start, off - zero_start, s.flags);
        data_start = off;
        in_data = true;
      } else if (zero && in_data) {
        out.push_back(
            CoreSegment{s.vaddr + data_start, off - data_start, off - data_start, s.flags});
        zero_start = off;
        in_data = false;
      }
    }
    if (in_data) {
      out.push_back(
          CoreSegment{s.vaddr + data_start, s.filesz - data_start, s.filesz - data_start, s.flags});
      zero_start = s.filesz;
    }
    add_zero_run(out, s.vaddr + zero_start, s.memsz - zero_start, s.flags);  // and the untouched
  }
  return out;
}

std::vector<PlannedSegment> plan_segments(LiveTarget& target, std::vector<std::string>& warnings) {
  std::string path = procfs::pid_path(target.pid(), "pagemap");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  bool pagemap_ok = fd >= 0;
  int pagemap_err = fd >= 0 ? 0 : errno;
  uint64_t zero_pfn = zero_page_pfn();
  std::vector<PlannedSegment> planned;
  std::vector<CoreSegment> segs;
  for (const auto& m : target.mappings()) {
    segs.clear();
    if (m.perms[0] != 'r' || m.path == "[vvar]" || m.path == "[vvar_vclock]") continue;
    if (m.end <= m.start || m.start.value() % kPage != 0 || (m.end - m.start) % kPage != 0) {
      continue;
    }
    uint64_t size = m.end - m.start;
    if (device_mapping(m)) {
      segs.push_back(CoreSegment{m.start, size, 0, pflags(m)});
    } else if (readable_file(m) && m.perms[1] != 'w' && m.perms[3] == 'p' && m.offset != 0 &&
               m.perms[2] != 'x') {
      plan_touched(m, fd, zero_pfn, segs, pagemap_ok, pagemap_err, true);
    } else if (readable_file(m) && m.perms[1] != 'w') {
      // Readers take these bytes from the file; keep an ELF header page for its build id.
      uint8_t magic[SELFMAG] = {};
      bool elf = m.offset == 0 && target.memory().read_exact(m.start, magic) &&
                 std::memcmp(magic, ELFMAG, SELFMAG) == 0;
      segs.push_back(CoreSegment{m.start, size, elf ? kPage : 0, pflags(m)});
    } else {
      plan_touched(m, fd, zero_pfn, segs, pagemap_ok, pagemap_err);
    }
    // Only bytes that no NT_FILE entry backs may be dropped later for being zero.
    bool anonymous = m.path.empty() || m.path[0] != '/';
    for (const auto& s : segs)
      planned.push_back(PlannedSegment{s, anonymous && m.path != "[vdso]"});
  }
  if (!pagemap_ok) {
    warnings.push_back(fmt::format("cannot read {} ({}); pages are written whether touched or not",
                                   path, std::strerror(pagemap_err)));
  }
  if (fd >= 0) ::close(fd);
  return planned;
}

GcoreResult gcore(int pid, const std::string& path) {
  auto t0 = std::chrono::steady_clock::now();
  GcoreResult r;
  r.path = path;
  auto target = LiveTarget::open(pid, TargetOptions{});
  r.warnings = target->warnings();
  CoreImage img = describe_process(*target, r.warnings);
  img.monotonic_ns = target->monotonic_ns();
  std::vector<PlannedSegment> planned = plan_segments(*target, r.warnings);
  copy_segments(*target, planned);
  target->release();
  r.pause_ms = target->stats().pause_ms;
  // Decided after the process runs again: the pages are in the snapshot.
  img.segments = segments_for_core(planned, target->memory());
  CoreWriteResult w = write_core(path, img, target->memory());
  if (w.unreadable_bytes > 0) {
    r.warnings.push_back(fmt::format(
        "{} bytes of touched pages could not be read; written as zeros", w.unreadable_bytes));
  }
  r.file_size = w.file_size;
  r.data_bytes = w.data_bytes;
  r.threads = img.threads.size();
  r.segments = img.segments.size();
  r.total_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace ifx
