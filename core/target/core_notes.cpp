// Decoding of core notes; the structs are the kernel's (<sys/procfs.h>), checked by size.
#include "core/target/core_notes.h"

#include <elf.h>
#include <sys/procfs.h>

#include <algorithm>
#include <cstring>

#include "core/target/core_writer.h"  // the IFXRAY note
#include "core/util/cursor.h"

namespace ifx {
namespace {

static_assert(sizeof(elf_gregset_t) == sizeof(user_regs_struct),
              "pr_reg must have user_regs_struct's layout");

// More entries than this in NT_FILE or NT_AUXV is not a real process (the kernel caps
// mappings at vm.max_map_count, 65530 by default).
constexpr uint64_t kMaxFileEntries = 1u << 20;
constexpr uint64_t kMaxAuxEntries = 1u << 12;

std::string fixed_string(const char* s, size_t max) {
  return std::string(s, strnlen(s, max));
}

void parse_prstatus(const ElfNote& n, CoreNotes& out) {
  if (n.desc.size() < sizeof(elf_prstatus)) {
    out.warnings.push_back(fmt::format("an NT_PRSTATUS note is {} bytes, expected {}: skipped",
                                       n.desc.size(), sizeof(elf_prstatus)));
    return;
  }
  elf_prstatus st;
  std::memcpy(&st, n.desc.data(), sizeof st);
  Thread t;
  t.tid = st.pr_pid;
  t.has_regs = true;
  std::memcpy(&t.regs, &st.pr_reg, sizeof t.regs);
  out.threads.push_back(t);
}

void parse_prpsinfo(const ElfNote& n, CoreNotes& out) {
  if (n.desc.size() < sizeof(elf_prpsinfo)) {
    out.warnings.push_back(fmt::format("the NT_PRPSINFO note is {} bytes, expected {}: skipped",
                                       n.desc.size(), sizeof(elf_prpsinfo)));
    return;
  }
  elf_prpsinfo ps;
  std::memcpy(&ps, n.desc.data(), sizeof ps);
  out.has_psinfo = true;
  out.pid = ps.pr_pid;
  out.sname = ps.pr_sname;
  out.fname = fixed_string(ps.pr_fname, sizeof ps.pr_fname);
  out.psargs = fixed_string(ps.pr_psargs, sizeof ps.pr_psargs);
  while (!out.psargs.empty() && out.psargs.back() == ' ') out.psargs.pop_back();
}

// count, page_size, count x {start, end, page offset}, then count NUL-terminated names.
void parse_file_note(const ElfNote& n, CoreNotes& out) {
  Cursor c(n.desc, "NT_FILE note");
  uint64_t count = c.u64();
  uint64_t page_size = c.u64();
  if (count > kMaxFileEntries || count > c.remaining() / 24) {
    fail("NT_FILE note claims {} mappings in {} bytes", count, n.desc.size());
  }
  std::vector<CoreFileMapping> files(count);
  for (auto& f : files) {
    f.start = c.u64();
    f.end = c.u64();
    uint64_t pages = c.u64();
    if (f.end < f.start)
      fail("NT_FILE note: mapping {:#x}-{:#x} ends before it starts", f.start, f.end);
    if (page_size != 0 && pages > UINT64_MAX / page_size) fail("NT_FILE note: offset overflows");
    f.offset = pages * page_size;
  }
  for (auto& f : files) f.path = std::string(c.cstring());
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.start < b.start; });
  out.files = std::move(files);
  out.has_file_note = true;
}

void parse_auxv(const ElfNote& n, CoreNotes& out) {
  Cursor c(n.desc, "NT_AUXV note");
  out.auxv.clear();
  while (c.remaining() >= 16 && out.auxv.size() < kMaxAuxEntries) {
    AuxEntry a;
    a.type = c.u64();
    a.value = c.u64();
    if (a.type == AT_NULL) break;
    out.auxv.push_back(a);
  }
  out.has_auxv = true;
}

void parse_ifxray(const ElfNote& n, CoreNotes& out) {
  if (n.desc.size() >= 4) {
    uint32_t version = load_le<uint32_t>(n.desc.data());
    if (version >= 2 && n.desc.size() >= 16) {
      auto ns = load_le<int64_t>(n.desc.data() + 8);
      if (ns >= 0) out.monotonic_ns = ns;
    }
    if (version != 1 && version != kIfxrayNoteVersion) {
      out.warnings.push_back(
          fmt::format("the core's IFXRAY note has version {}; reading it as version {}", version,
                      kIfxrayNoteVersion));
    }
  }
  out.untouched_is_zero = true;
}

}  // namespace

CoreNotes parse_core_notes(const std::vector<ElfNote>& notes) {
  CoreNotes out;
  for (const auto& n : notes) {
    try {
      // Not type 1: Delve reads every type-1 note as NT_PRSTATUS, whatever its name.
      if (n.name == "IFXRAY" && n.type == kIfxrayNoteType) {
        parse_ifxray(n, out);
      } else if (n.name != "CORE") {
        continue;  // LINUX (xstate), GDB (target description) ...
      } else if (n.type == NT_PRSTATUS) {
        parse_prstatus(n, out);
      } else if (n.type == NT_PRPSINFO) {
        parse_prpsinfo(n, out);
      } else if (n.type == NT_FILE) {
        parse_file_note(n, out);
      } else if (n.type == NT_AUXV) {
        parse_auxv(n, out);
      }
    } catch (const Error& e) {
      out.warnings.push_back(fmt::format("{}: note skipped", e.what()));
    }
  }
  for (auto& t : out.threads) t.name = out.fname;  // cores keep only the process's comm
  return out;
}

}  // namespace ifx
