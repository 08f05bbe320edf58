// The executable's DWARF, opened through libdw (which also inflates compressed sections).
// One handle per owner: libdw handles are not shared across threads here.
#pragma once

#include <memory>
#include <string>

struct Dwarf;
struct Elf;

namespace ifx {

class DwarfFile {
 public:
  // Opens the DWARF of the file at `path`; fails with a reason when it has none or it is corrupt.
  explicit DwarfFile(const std::string& path);
  ~DwarfFile();
  DwarfFile(const DwarfFile&) = delete;
  DwarfFile& operator=(const DwarfFile&) = delete;

  Dwarf* handle() const { return dwarf_; }

 private:
  int fd_ = -1;
  Elf* elf_ = nullptr;
  Dwarf* dwarf_ = nullptr;
};

}  // namespace ifx
