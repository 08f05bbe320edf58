// A core dump as a Target: threads and registers from its notes, memory from its segments
// layered over the executable and the shared libraries it names.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/binary/elf_file.h"
#include "core/target/core_memory.h"
#include "core/target/core_notes.h"
#include "core/target/open_target.h"
#include "core/target/target.h"

namespace ifx {

// Not thread-safe: its memory maps backing files lazily and counts reads.
class CoreTarget final : public Target {
 public:
  // Opens and checks the core; see open_core (open_target.h).
  static std::unique_ptr<CoreTarget> open(const std::string& path, const TargetOptions& opts);

  bool is_live() const override { return false; }
  int pid() const override { return pid_; }
  std::string exe_path() const override { return exe_path_; }
  std::vector<std::string> cmdline() const override { return cmdline_; }
  const std::vector<Thread>& threads() const override { return notes_.threads; }
  const std::vector<Mapping>& mappings() const override { return mappings_; }
  const std::vector<AuxEntry>& auxv() const override { return notes_.auxv; }
  Memory& memory() override { return *memory_; }
  const std::vector<std::string>& warnings() const override { return warnings_; }
  TargetStats stats() const override;
  std::optional<int64_t> monotonic_ns() const override { return notes_.monotonic_ns; }

  // The path the core gives for the executable (may differ from exe_path() with --exe).
  const std::string& core_exe_path() const { return core_exe_path_; }
  // True when the core carries ifxray's IFXRAY note (untouched anonymous pages read as zeros).
  bool untouched_is_zero() const { return notes_.untouched_is_zero; }

 private:
  explicit CoreTarget(std::unique_ptr<ElfFile> core) : core_(std::move(core)) {}
  void load_segments();
  void load_notes();
  void find_executable(const TargetOptions& opts);
  void build_mappings();

  std::shared_ptr<MappedFile> file_;  // the core's bytes; outlives core_ and memory_
  std::unique_ptr<ElfFile> core_;
  CoreNotes notes_;
  std::unique_ptr<CoreMemory> memory_;
  std::vector<CoreLoad> segments_;  // handed to memory_ once the notes are read
  int pid_ = 0;
  std::string exe_path_;
  std::string core_exe_path_;
  std::vector<std::string> cmdline_;
  std::vector<Mapping> mappings_;
  std::vector<std::string> warnings_;
};

}  // namespace ifx
