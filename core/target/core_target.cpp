// Opening a core: validate the ELF, read segments and notes, find and check the executable.
#include "core/target/core_target.h"

#include <elf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <fmt/ranges.h>

#include "core/target/core_process.h"

namespace ifx {
namespace {

#if defined(__x86_64__)
constexpr uint16_t kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr uint16_t kHostMachine = EM_AARCH64;
#endif

constexpr std::string_view kDeleted = " (deleted)";
constexpr uint64_t kVsyscall = 0xffffffffff600000;
constexpr size_t kRangesShown = 3;

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// Why a file that is an ELF file is not a core, from its header alone.
void check_is_core(const std::string& path, Bytes b) {
  if (b.size() < SELFMAG || std::memcmp(b.data(), ELFMAG, SELFMAG) != 0) {
    fail("{} is not a core file: not an ELF file", path);
  }
  if (b.size() < sizeof(Elf64_Ehdr)) fail("{} is not a core file: its ELF header is cut off", path);
  auto type = load_le<uint16_t>(b.data() + offsetof(Elf64_Ehdr, e_type));  // same offset in ELF32
  if (type == ET_CORE) return;
  if (type == ET_EXEC || type == ET_DYN) {
    fail("{} is an ELF executable or shared library, not a core file", path);
  }
  if (type == ET_REL) fail("{} is an ELF object file, not a core file", path);
  fail("{} is not a core file (ELF type {})", path, type);
}

std::string perms(uint32_t flags) {
  std::string p = "---p";
  if (flags & PF_R) p[0] = 'r';
  if (flags & PF_W) p[1] = 'w';
  if (flags & PF_X) p[2] = 'x';
  return p;
}

// "0x1000-0x2000, 0x5000-0x6000 and 4 more" over adjacent-merged ranges.
std::string describe_ranges(const std::vector<std::pair<uint64_t, uint64_t>>& ranges) {
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (const auto& r : ranges) {
    if (!merged.empty() && merged.back().second == r.first) {
      merged.back().second = r.second;
    } else {
      merged.push_back(r);
    }
  }
  std::vector<std::string> shown;
  for (size_t i = 0; i < merged.size() && i < kRangesShown; ++i) {
    shown.push_back(fmt::format("{:#x}-{:#x}", merged[i].first, merged[i].second));
  }
  std::string out = fmt::format("{}", fmt::join(shown, ", "));
  if (merged.size() > kRangesShown)
    out += fmt::format(" and {} more", merged.size() - kRangesShown);
  return fmt::format("{} range{} ({})", merged.size(), merged.size() == 1 ? "" : "s", out);
}

}  // namespace

std::unique_ptr<CoreTarget> CoreTarget::open(const std::string& path, const TargetOptions& opts) {
  auto file = std::make_shared<MappedFile>(path);
  check_is_core(path, file->bytes());
  std::unique_ptr<CoreTarget> t(new CoreTarget(std::make_unique<ElfFile>(file->bytes(), path)));
  t->file_ = std::move(file);
  if (t->core_->machine() != kHostMachine) {
    fail("{} is a core of another architecture (ELF machine {}) than ifxray's", path,
         t->core_->machine());
  }
  t->load_segments();
  t->load_notes();
  add_file_only_segments(t->segments_, t->notes_.files);
  t->memory_ = std::make_unique<CoreMemory>(t->core_->bytes(), std::move(t->segments_),
                                            t->notes_.files, t->notes_.untouched_is_zero);
  t->find_executable(opts);
  t->build_mappings();
  t->pid_ =
      t->notes_.has_psinfo || t->notes_.threads.empty() ? t->notes_.pid : t->notes_.threads[0].tid;
  t->cmdline_ = cmdline_from_stack(t->notes_, *t->memory_);
  if (t->cmdline_.empty()) {  // psargs: the first 79 bytes, NULs turned to spaces
    std::string_view rest = t->notes_.psargs;
    while (!rest.empty()) {
      size_t sp = rest.find(' ');
      if (sp != 0) t->cmdline_.emplace_back(rest.substr(0, sp));
      rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    }
  }
  return t;
}

void CoreTarget::load_segments() {
  const std::string& name = core_->name();
  uint64_t size = core_->bytes().size();
  uint64_t expected = 0;
  size_t bad = 0, overlapping = 0;
  std::vector<CoreLoad> segs;
  for (const auto& p : core_->segments()) {
    if (p.type != PT_LOAD || p.memsz == 0) continue;
    if (p.vaddr > UINT64_MAX - p.memsz || p.offset > UINT64_MAX - p.filesz) {
      ++bad;
      continue;
    }
    CoreLoad s{p.vaddr, p.memsz, p.offset, std::min(p.filesz, p.memsz), 0, p.flags};
    s.present = s.offset <= size ? std::min(s.filesz, size - s.offset) : 0;
    expected = std::max(expected, s.offset + s.filesz);
    segs.push_back(s);
  }
  std::sort(segs.begin(), segs.end(),
            [](const auto& a, const auto& b) { return a.start < b.start; });
  std::vector<std::pair<uint64_t, uint64_t>> missing;
  for (const auto& s : segs) {
    if (!segments_.empty() && s.start < segments_.back().end()) {
      ++overlapping;
      continue;
    }
    segments_.push_back(s);
    if (s.present < s.filesz) missing.emplace_back(s.start + s.present, s.start + s.filesz);
  }
  if (bad > 0)
    warnings_.push_back(
        fmt::format("{}: {} segments wrap around the address space; ignored", name, bad));
  if (overlapping > 0) {
    warnings_.push_back(fmt::format("{}: {} segments overlap others; ignored", name, overlapping));
  }
  if (!missing.empty()) {
    warnings_.push_back(fmt::format("{} is truncated ({} of {} bytes); not in it: {}", name, size,
                                    expected, describe_ranges(missing)));
  }
}

void CoreTarget::load_notes() {
  const std::string& name = core_->name();
  for (const auto& p : core_->segments()) {
    if (p.type == PT_NOTE && !in_bounds(p.offset, p.filesz, core_->bytes().size())) {
      fail("{} is truncated: its notes (threads, registers, mapped files) lie past its end", name);
    }
  }
  std::vector<ElfNote> notes;
  try {
    notes = core_->notes();
  } catch (const Error& e) {
    fail("{} has corrupt notes: {}", name, e.what());
  }
  notes_ = parse_core_notes(notes);
  for (const auto& w : notes_.warnings) warnings_.push_back(fmt::format("{}: {}", name, w));
  if (notes_.threads.empty()) {
    warnings_.push_back(fmt::format("{} has no NT_PRSTATUS notes: no threads, no registers", name));
  }
  if (!notes_.has_file_note) {
    warnings_.push_back(fmt::format(
        "{} has no NT_FILE note: what the core lacks cannot be read from mapped files", name));
  }
  if (!notes_.has_auxv) warnings_.push_back(fmt::format("{} has no NT_AUXV note", name));
}

void CoreTarget::find_executable(const TargetOptions& opts) {
  const std::string& name = core_->name();
  CoreExecutable found = find_core_executable(notes_, *memory_);
  core_exe_path_ = found.path;
  if (!opts.exe.empty()) {
    exe_path_ = opts.exe;
  } else if (found.path.empty()) {
    fail("{} does not say which executable it was made from; name it with --exe PATH", name);
  } else {
    exe_path_ = found.path;
    if (exe_path_.ends_with(kDeleted)) {
      exe_path_.resize(exe_path_.size() - kDeleted.size());
      if (!exists(exe_path_)) {
        fail("{}: its executable {} was deleted; name a copy with --exe PATH", name, exe_path_);
      }
    }
    if (!exists(exe_path_)) {
      fail("{}: its executable {} does not exist (moved or deleted?); name it with --exe PATH",
           name, exe_path_);
    }
  }
  std::unique_ptr<ElfFile> exe;
  try {
    exe = ElfFile::open(exe_path_);
  } catch (const Error& e) {
    fail("{}{}", opts.exe.empty() ? "" : "--exe: ", e.what());
  }
  if (exe->type() != ET_EXEC && exe->type() != ET_DYN) fail("{} is not an executable", exe_path_);
  BuildIds exe_ids{exe->go_build_id(), exe->gnu_build_id()};
  for (auto& w : verify_core_executable(name, exe_path_, exe_ids,
                                        build_ids_in_core(*memory_, found.base), opts.force)) {
    warnings_.push_back(std::move(w));
  }
  if (!found.path.empty() && found.path != exe_path_) {
    memory_->substitute_file(found.path, exe_path_);
  }
}

void CoreTarget::build_mappings() {
  uint64_t vdso = aux_value(AT_SYSINFO_EHDR);
  uint64_t execfn = aux_value(AT_EXECFN);
  for (const auto& s : memory_->segments()) {
    Mapping m{RemoteAddr(s.start), RemoteAddr(s.end()), 0, perms(s.flags), {}};
    if (const CoreFileMapping* f = memory_->file_at(s.start)) {
      m.path = f->path;
      m.offset = f->offset + (s.start - f->start);
    } else if (s.start == vdso) {
      m.path = "[vdso]";
    } else if (s.start == kVsyscall) {
      m.path = "[vsyscall]";
    } else if (execfn - s.start < s.memsz) {  // AT_EXECFN points into the initial stack
      m.path = "[stack]";
    }
    mappings_.push_back(std::move(m));
  }
}

TargetStats CoreTarget::stats() const {
  TargetStats st;
  st.bytes_read = memory_->bytes_read();
  st.reads = memory_->reads();
  return st;
}

std::unique_ptr<Target> open_core(const std::string& path, const TargetOptions& opts) {
  return CoreTarget::open(path, opts);
}

}  // namespace ifx
