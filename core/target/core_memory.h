// Memory of a core dump: the core's PT_LOAD bytes, layered over the files the process had
// mapped (NT_FILE) for the ranges the dumper left out.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/target/core_notes.h"
#include "core/target/memory.h"
#include "core/util/mapped_file.h"

namespace ifx {

// One PT_LOAD of the core. Bytes [0, present) are in the core file; [present, filesz) were
// written by the dumper but cut off (truncated core); [filesz, memsz) were left out by it.
struct CoreLoad {
  uint64_t start = 0;
  uint64_t memsz = 0;
  uint64_t offset = 0;  // in the core file
  uint64_t filesz = 0;
  uint64_t present = 0;
  uint32_t flags = 0;  // PF_R | PF_W | PF_X

  uint64_t end() const { return start + memsz; }
};

// Adds a segment without core bytes, readable, for every part of an NT_FILE range that no
// PT_LOAD covers (gdb leaves out file mappings it does not dump); keeps `segments` sorted.
void add_file_only_segments(std::vector<CoreLoad>& segments,
                            const std::vector<CoreFileMapping>& files);

// Not thread-safe: reads map backing files lazily into a cache and count statistics.
class CoreMemory final : public Memory {
 public:
  // `segments` sorted by start and not overlapping; `core` outlives this object.
  CoreMemory(Bytes core, std::vector<CoreLoad> segments, std::vector<CoreFileMapping> files,
             bool untouched_is_zero);

  size_t read(RemoteAddr addr, std::span<uint8_t> out) override;
  std::string why_unreadable(RemoteAddr addr, uint64_t size) override;

  // Only the bytes the core itself holds: never a backing file, never the zero rule. Used to
  // check that the executable on disk is the one the core was made from.
  size_t read_core_only(RemoteAddr addr, std::span<uint8_t> out);

  // Serve ranges the core maps from `core_path` out of `local_path` instead (--exe).
  void substitute_file(const std::string& core_path, const std::string& local_path);

  const std::vector<CoreLoad>& segments() const { return segments_; }
  const std::vector<CoreFileMapping>& files() const { return files_; }
  // The segment / NT_FILE entry containing addr, or null.
  const CoreLoad* segment_at(uint64_t addr) const;
  const CoreFileMapping* file_at(uint64_t addr) const;

  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t reads() const { return reads_; }

 private:
  // Where the bytes at one address come from, and for how many bytes that holds.
  struct Piece {
    enum Kind { kCore, kFile, kZero, kMissing } kind = kMissing;
    uint64_t len = 0;
    const uint8_t* data = nullptr;  // kCore, kFile
    std::string reason;             // kMissing
  };
  Piece locate(uint64_t addr, bool core_only);
  Piece from_file(const CoreFileMapping& f, uint64_t addr, uint64_t limit);
  size_t copy(uint64_t addr, std::span<uint8_t> out, bool core_only);

  struct Backing {
    std::unique_ptr<MappedFile> file;  // null when it could not be opened
    std::string error;
  };
  const Backing& backing(const std::string& path);

  Bytes core_;
  std::vector<CoreLoad> segments_;
  std::vector<uint64_t> starts_;  // segments_[i].start, for the binary search
  std::vector<CoreFileMapping> files_;
  bool untouched_is_zero_;
  std::map<std::string, std::string> substitutes_;
  std::map<std::string, Backing> backings_;
  uint64_t bytes_read_ = 0;
  uint64_t reads_ = 0;
};

}  // namespace ifx
