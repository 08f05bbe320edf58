// Chooses layouts and globals for a target and reads runtime values through its memory.
#include "core/runtime/go_runtime.h"

#include <elf.h>

namespace ifx {
namespace {

uint64_t load_bias(const GoBinary& bin, const Target& target) {
  if (!bin.is_pie()) return 0;
  uint64_t entry = target.aux_value(AT_ENTRY);
  if (entry != 0) return entry - bin.elf().entry();
  // No auxv: the executable's first mapping at file offset 0.
  for (const auto& m : target.mappings()) {
    if (m.offset == 0 && m.path == target.exe_path()) {
      for (const auto& seg : bin.elf().segments()) {
        if (seg.type == PT_LOAD) return m.start.value() - (seg.vaddr & ~uint64_t{0xfff});
      }
    }
  }
  return 0;
}

}  // namespace

std::optional<uint64_t> read_uint(Memory& mem, RemoteAddr addr, uint64_t size) {
  uint8_t buf[8] = {};
  if (size == 0 || size > 8) return std::nullopt;
  if (!mem.read_exact(addr, std::span<uint8_t>(buf, size))) return std::nullopt;
  uint64_t v = 0;
  for (uint64_t i = 0; i < size; ++i) v |= uint64_t{buf[i]} << (8 * i);
  return v;
}

RuntimeModel load_runtime_model(const GoBinary& bin) {
  RuntimeModel m;
  std::unique_ptr<DwarfTypes> dwarf;
  if (bin.has_dwarf()) {
    try {
      dwarf = std::make_unique<DwarfTypes>(bin.elf().name());
    } catch (const Error& e) {
      m.problems.push_back(fmt::format("DWARF unusable, using built-in tables: {}", e.what()));
    }
  }
  if (dwarf) {
    m.layout = layout_from_dwarf(*dwarf);
  } else if (auto table = layout_from_table(bin.version())) {
    m.layout = *table;
    if (table->guessed) {
      m.problems.push_back(fmt::format("no layout table for {}: using {}",
                                       bin.build_info().go_version, table->source));
    }
  } else {
    m.layout.source = "none";
    m.problems.push_back(
        fmt::format("no DWARF and no layout table for {}: runtime structures cannot be read",
                    bin.build_info().go_version));
  }
  m.globals = find_globals(bin, dwarf.get());
  m.problems.insert(m.problems.end(), m.globals.problems.begin(), m.globals.problems.end());
  return m;
}

GoRuntime::GoRuntime(const GoBinary& bin, const RuntimeModel& model, Target& target)
    : bin_(bin), target_(target), model_(model), bias_(load_bias(bin, target)) {}

std::optional<RemoteAddr> GoRuntime::global(Glob g) const {
  auto a = globals().get(g);
  if (!a) return std::nullopt;
  return RemoteAddr(*a + bias_);
}

std::optional<uint64_t> GoRuntime::read_field(RemoteAddr base, Fld f) {
  auto info = layout().field(f);
  if (!info || base.is_null()) return std::nullopt;
  return read_uint(memory(), base + info->offset, info->size);
}

std::optional<int64_t> GoRuntime::read_signed_field(RemoteAddr base, Fld f) {
  auto info = layout().field(f);
  auto v = read_field(base, f);
  if (!v || !info) return std::nullopt;
  unsigned bits = static_cast<unsigned>(info->size * 8);
  if (bits < 64 && (*v >> (bits - 1)) != 0)
    return static_cast<int64_t>(*v | (~uint64_t{0} << bits));
  return static_cast<int64_t>(*v);
}

std::optional<uint64_t> GoRuntime::read_global(Glob g, uint64_t size, uint64_t offset) {
  auto a = global(g);
  if (!a) return std::nullopt;
  return read_uint(memory(), *a + offset, size);
}

std::optional<uint64_t> GoRuntime::read_global_field(Glob g, Fld f) {
  auto a = global(g);
  if (!a) return std::nullopt;
  return read_field(*a, f);
}

}  // namespace ifx
