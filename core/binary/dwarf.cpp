// libdw/libelf resource handling for DwarfFile.
#include "core/binary/dwarf.h"

#include <elfutils/libdw.h>
#include <fcntl.h>
#include <libelf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/util/error.h"

namespace ifx {

DwarfFile::DwarfFile(const std::string& path) {
  elf_version(EV_CURRENT);
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail("cannot open {}: {}", path, std::strerror(errno));
  elf_ = elf_begin(fd_, ELF_C_READ_MMAP, nullptr);
  if (elf_ == nullptr) {
    ::close(fd_);
    fail("{}: libelf: {}", path, elf_errmsg(-1));
  }
  dwarf_ = dwarf_begin_elf(elf_, DWARF_C_READ, nullptr);
  if (dwarf_ == nullptr) {
    std::string why = dwarf_errmsg(-1);
    elf_end(elf_);
    ::close(fd_);
    fail("{}: no usable DWARF ({})", path, why);
  }
}

DwarfFile::~DwarfFile() {
  dwarf_end(dwarf_);
  elf_end(elf_);
  ::close(fd_);
}

}  // namespace ifx
