// The Go runtime of one target: where the executable is loaded, the layouts and globals to use,
// and typed reads of runtime structures through the target's memory.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/binary/go_binary.h"
#include "core/runtime/globals.h"
#include "core/runtime/layout.h"
#include "core/target/target.h"

namespace ifx {

// What the executable alone says about its runtime: layouts and global addresses. Built before
// a live target is stopped, so that DWARF indexing is not part of the pause.
struct RuntimeModel {
  Layout layout;
  Globals globals;
  std::vector<std::string> problems;  // what is missing and why
};

// Loads layouts (DWARF, else the version's table) and globals. Never fails for missing runtime
// knowledge: what is missing is listed in problems.
RuntimeModel load_runtime_model(const GoBinary& bin);

class GoRuntime {
 public:
  GoRuntime(const GoBinary& bin, const RuntimeModel& model, Target& target);

  const GoBinary& binary() const { return bin_; }
  Target& target() { return target_; }
  Memory& memory() { return target_.memory(); }
  // Load bias: runtime address = link-time address + bias (non-zero for PIE).
  uint64_t bias() const { return bias_; }
  const Layout& layout() const { return model_.layout; }
  const Globals& globals() const { return model_.globals; }
  const std::vector<std::string>& problems() const { return model_.problems; }

  // Runtime address of a global, if known.
  std::optional<RemoteAddr> global(Glob g) const;
  // Reads an integer field (1, 2, 4 or 8 bytes, zero-extended) of the struct at base.
  std::optional<uint64_t> read_field(RemoteAddr base, Fld f);
  std::optional<int64_t> read_signed_field(RemoteAddr base, Fld f);
  // Reads an integer global of `size` bytes (optionally at an offset inside it).
  std::optional<uint64_t> read_global(Glob g, uint64_t size, uint64_t offset = 0);
  std::optional<uint64_t> read_global_field(Glob g, Fld f);

 private:
  const GoBinary& bin_;
  Target& target_;
  const RuntimeModel& model_;
  uint64_t bias_ = 0;
};

// Reads `size` (1, 2, 4, 8) bytes little-endian.
std::optional<uint64_t> read_uint(Memory& mem, RemoteAddr addr, uint64_t size);

}  // namespace ifx
