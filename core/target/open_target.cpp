// Tells a pid from a core from an executable by looking, not by guessing from the name alone.
#include "core/target/open_target.h"

#include <elf.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>

#include "core/binary/elf_file.h"

namespace ifx {

TargetKind classify_target(const std::string& spec) {
  bool digits = !spec.empty() && spec.size() < 10 &&
                std::all_of(spec.begin(), spec.end(), [](char c) { return std::isdigit(c); });
  struct stat st {};
  // Digits name a process when it exists (write ./4242 for a file of that name).
  if (digits && ::stat(("/proc/" + spec).c_str(), &st) == 0) return TargetKind::kPid;
  if (digits && ::stat(spec.c_str(), &st) != 0) fail("no process with pid {}", spec);
  auto elf = ElfFile::open(spec);
  if (elf->type() == ET_CORE) return TargetKind::kCore;
  if (elf->type() == ET_EXEC || elf->type() == ET_DYN) return TargetKind::kExecutable;
  fail("{}: neither an executable nor a core file (ELF type {})", spec, elf->type());
}

}  // namespace ifx
