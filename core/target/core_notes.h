// The notes of an ELF core: threads and registers (NT_PRSTATUS), the process (NT_PRPSINFO),
// mapped files (NT_FILE), the aux vector (NT_AUXV) and ifxray's own marker note.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/binary/elf_file.h"
#include "core/target/target.h"

namespace ifx {

// One NT_FILE entry: [start, end) of the address space maps `path` from byte `offset`.
struct CoreFileMapping {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t offset = 0;
  std::string path;
};

struct CoreNotes {
  std::vector<Thread> threads;  // NT_PRSTATUS order: the kernel puts the dumping thread first
  bool has_psinfo = false;
  int pid = 0;
  char sname = '?';    // process state letter from NT_PRPSINFO
  std::string fname;   // comm, at most 15 bytes
  std::string psargs;  // the start of the command line, spaces for NULs, at most 79 bytes
  bool has_file_note = false;
  std::vector<CoreFileMapping> files;  // sorted by start
  bool has_auxv = false;
  std::vector<AuxEntry> auxv;
  bool untouched_is_zero = false;       // the IFXRAY note is present (see core_writer.h)
  std::optional<int64_t> monotonic_ns;  // from the IFXRAY note, version 2
  std::vector<std::string> warnings;
};

// Decodes the notes a core carries. A note too short or inconsistent for its type is skipped
// with a warning; nothing here allocates more than the note's own size justifies.
CoreNotes parse_core_notes(const std::vector<ElfNote>& notes);

}  // namespace ifx
