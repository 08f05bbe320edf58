// The executable of a core, its build check, and argv from the initial stack.
#include "core/target/core_process.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "core/util/cursor.h"

namespace ifx {
namespace {

constexpr uint64_t kPageSize = 4096;
constexpr size_t kMaxNoteBytes = 1 << 16;      // a Go or GNU build ID note is < 256 bytes
constexpr size_t kMaxPathBytes = 4096;         // PATH_MAX
constexpr uint64_t kMaxStackBytes = 64 << 20;  // the initial stack we are willing to scan
constexpr uint64_t kMaxStackWords = 1 << 20;   // argv + envp entries

uint64_t aux_value(const CoreNotes& notes, uint64_t type) {
  for (const auto& a : notes.auxv) {
    if (a.type == type) return a.value;
  }
  return 0;
}

std::string read_cstring(CoreMemory& memory, uint64_t addr) {
  if (addr == 0) return {};
  std::vector<uint8_t> buf(kMaxPathBytes);
  size_t n = memory.read(RemoteAddr(addr), buf);
  auto nul = std::find(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(n), 0);
  if (nul == buf.begin() + static_cast<ptrdiff_t>(n)) return {};
  return std::string(buf.begin(), nul);
}

std::string hex(Bytes b) {
  std::string out;
  for (uint8_t c : b) out += fmt::format("{:02x}", c);
  return out;
}

// Lenient: a note cut off by the end of what the core holds ends the scan.
void collect_build_ids(Bytes notes, BuildIds& ids) {
  Cursor c(notes, "build ID note in the core");
  try {
    while (c.remaining() >= 12) {
      uint32_t namesz = c.u32();
      uint32_t descsz = c.u32();
      uint32_t type = c.u32();
      std::string_view name = as_string(c.bytes(namesz));
      c.align(4);
      Bytes desc = c.bytes(descsz);
      c.align(4);
      while (!name.empty() && name.back() == '\0') name.remove_suffix(1);
      if (name == "Go" && type == 4) ids.go = std::string(as_string(desc));
      if (name == "GNU" && type == NT_GNU_BUILD_ID) ids.gnu = hex(desc);
    }
  } catch (const Error&) {
  }
}

}  // namespace

CoreExecutable find_core_executable(const CoreNotes& notes, CoreMemory& memory) {
  CoreExecutable exe;
  for (uint64_t type : {AT_PHDR, AT_ENTRY}) {
    uint64_t addr = aux_value(notes, type);
    const CoreFileMapping* f = addr != 0 ? memory.file_at(addr) : nullptr;
    if (f != nullptr) {
      exe.path = f->path;
      break;
    }
  }
  if (exe.path.empty()) exe.path = read_cstring(memory, aux_value(notes, AT_EXECFN));
  for (const auto& f : memory.files()) {  // sorted: the first at offset 0 holds the header
    if (f.path == exe.path && f.offset == 0) {
      exe.base = f.start;
      break;
    }
  }
  // Without NT_FILE: program headers sit in the first page of the image for Go's linker and
  // the usual others; build_ids_in_core checks the ELF magic there.
  if (exe.base == 0) exe.base = aux_value(notes, AT_PHDR) / kPageSize * kPageSize;
  return exe;
}

CoreBuildIds build_ids_in_core(CoreMemory& memory, uint64_t base) {
  CoreBuildIds out;
  Elf64_Ehdr eh{};
  std::span<uint8_t> eh_bytes(reinterpret_cast<uint8_t*>(&eh), sizeof eh);
  if (base == 0 || memory.read_core_only(RemoteAddr(base), eh_bytes) != sizeof eh) return out;
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 256) {
    return out;
  }
  std::vector<Elf64_Phdr> ph(eh.e_phnum);
  std::span<uint8_t> ph_bytes(reinterpret_cast<uint8_t*>(ph.data()), ph.size() * sizeof ph[0]);
  if (memory.read_core_only(RemoteAddr(base + eh.e_phoff), ph_bytes) != ph_bytes.size()) return out;
  // The load bias: the segment at file offset 0 is mapped at base.
  auto first = std::find_if(ph.begin(), ph.end(),
                            [](const auto& p) { return p.p_type == PT_LOAD && p.p_offset == 0; });
  if (first == ph.end()) return out;
  uint64_t bias = base - first->p_vaddr / kPageSize * kPageSize;
  for (const auto& p : ph) {
    if (p.p_type != PT_NOTE) continue;
    std::vector<uint8_t> buf(std::min<uint64_t>(p.p_filesz, kMaxNoteBytes));
    size_t n = memory.read_core_only(RemoteAddr(p.p_vaddr + bias), buf);
    if (n > 0) out.found = true;
    collect_build_ids(Bytes(buf.data(), n), out.ids);
  }
  return out;
}

std::vector<std::string> verify_core_executable(const std::string& core_path,
                                                const std::string& exe_path,
                                                const BuildIds& exe_ids, const CoreBuildIds& core,
                                                bool force) {
  std::vector<std::string> diffs;
  int same = 0;
  auto compare = [&](std::string_view kind, const std::string& in_core, const std::string& in_exe) {
    if (in_core.empty() || in_exe.empty()) return;
    if (in_core == in_exe) {
      ++same;
    } else {
      diffs.push_back(
          fmt::format("{} build ID {} in the core, {} in the file", kind, in_core, in_exe));
    }
  };
  compare("Go", core.ids.go, exe_ids.go);
  compare("GNU", core.ids.gnu, exe_ids.gnu);
  if (!diffs.empty()) {
    std::string what = fmt::format("{} is not the executable {} was made from ({})", exe_path,
                                   core_path, fmt::join(diffs, "; "));
    if (!force) throw Error(what + "; --force reads it anyway", ExitCode::kMismatch);
    return {what + "; reading it anyway (--force), expect wrong results"};
  }
  if (same > 0) return {};
  std::string why = core.found ? "no build ID to compare" : "the core lacks its first page";
  return {fmt::format("could not check that {} is the executable {} was made from: {}", exe_path,
                      core_path, why)};
}

std::vector<std::string> cmdline_from_stack(const CoreNotes& notes, CoreMemory& memory) {
  if (notes.auxv.empty()) return {};
  uint64_t anchor = aux_value(notes, AT_EXECFN);
  if (anchor == 0) anchor = aux_value(notes, AT_RANDOM);
  const CoreLoad* s = memory.segment_at(anchor);
  if (s == nullptr || s->memsz > kMaxStackBytes) return {};
  std::vector<uint8_t> stack(s->memsz);
  stack.resize(memory.read_core_only(RemoteAddr(s->start), stack));
  // The aux vector as the kernel copied it, AT_NULL included, marks where envp ends.
  std::vector<uint64_t> words;
  for (const auto& a : notes.auxv) words.insert(words.end(), {a.type, a.value});
  words.insert(words.end(), {AT_NULL, 0});
  const auto* pat = reinterpret_cast<const uint8_t*>(words.data());
  auto it = std::search(stack.begin(), stack.end(),
                        std::boyer_moore_searcher(pat, pat + words.size() * 8));
  size_t pos = static_cast<size_t>(it - stack.begin());
  if (it == stack.end() || pos % 8 != 0 || pos < 16) return {};
  auto word = [&](size_t i) { return load_le<uint64_t>(stack.data() + i); };
  auto in_stack = [&](uint64_t v) { return v >= s->start && v - s->start < stack.size(); };
  // pos - 8 is envp's NULL; walk down over envp to argv's NULL, then over argv to argc.
  size_t r = pos - 8;
  if (word(r) != 0) return {};
  for (uint64_t n = 0; r >= 8 && word(r - 8) != 0; ++n) {
    if (n > kMaxStackWords || !in_stack(word(r - 8))) return {};
    r -= 8;
  }
  if (r < 8) return {};
  r -= 8;  // argv's NULL
  uint64_t argc = 0;
  for (;; ++argc) {
    if (argc > kMaxStackWords || r < 8 * (argc + 1)) return {};
    uint64_t v = word(r - 8 * (argc + 1));
    if (v == argc) break;
    if (!in_stack(v)) return {};
  }
  std::vector<std::string> args;
  for (uint64_t i = 0; i < argc; ++i) {
    uint64_t off = word(r - 8 * (argc - i)) - s->start;
    const auto* start = stack.data() + off;
    const auto* nul = static_cast<const uint8_t*>(std::memchr(start, 0, stack.size() - off));
    if (nul == nullptr) return {};
    args.emplace_back(reinterpret_cast<const char*>(start), static_cast<size_t>(nul - start));
  }
  std::string joined = fmt::format("{}", fmt::join(args, " "));
  if (notes.has_psinfo && joined.rfind(notes.psargs, 0) != 0) return {};
  return args;
}

}  // namespace ifx
