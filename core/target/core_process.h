// Facts about the dumped process that a core holds only indirectly: which executable it ran,
// whether the file on disk is that build, and its command line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/target/core_memory.h"
#include "core/target/core_notes.h"

namespace ifx {

struct CoreExecutable {
  std::string path;   // as the core names it (NT_FILE or AT_EXECFN); empty when unknown
  uint64_t base = 0;  // where its ELF header was mapped; 0 when unknown
};

// The mapping that holds AT_PHDR or AT_ENTRY names the executable; AT_EXECFN is the fallback.
CoreExecutable find_core_executable(const CoreNotes& notes, CoreMemory& memory);

// Build IDs of an ELF image (hex for GNU's, as stored for Go's); empty when absent.
struct BuildIds {
  std::string go;
  std::string gnu;
};

// The build IDs in the core's own copy of the executable's first page (kernel cores dump the
// first page of every ELF mapping). `found` is false when the core does not hold them.
struct CoreBuildIds {
  bool found = false;
  BuildIds ids;
};
CoreBuildIds build_ids_in_core(CoreMemory& memory, uint64_t base);

// Compares the build IDs of `exe_path` with the core's. A mismatch throws (ExitCode::kMismatch)
// unless `force`; returns the warnings to show (forced mismatch, or nothing to compare).
std::vector<std::string> verify_core_executable(const std::string& core_path,
                                                const std::string& exe_path,
                                                const BuildIds& exe_ids, const CoreBuildIds& core,
                                                bool force);

// argv as the process started, read back from the initial stack (where the kernel put argc,
// argv, envp and then the aux vector); empty when it cannot be found or disagrees with
// NT_PRPSINFO's psargs.
std::vector<std::string> cmdline_from_stack(const CoreNotes& notes, CoreMemory& memory);

}  // namespace ifx
