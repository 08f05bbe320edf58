#include "core/binary/elf_file.h"
#include "core/target/core_notes.h"
int main(int, char** argv) {
  auto e = ifx::ElfFile::open(argv[1]);
  for (auto& n : e->notes()) fmt::print("[{}] {} {}\n", n.name, n.type, n.desc.size());
  auto cn = ifx::parse_core_notes(e->notes());
  fmt::print("untouched {}\n", cn.untouched_is_zero);
}
