// Decodes .go.buildinfo in both layouts: inline varint strings (Go 1.18+) and the older pair of
// pointers to string headers.
#include "core/binary/build_info.h"

#include <elf.h>

#include "core/util/cursor.h"

namespace ifx {
namespace {

constexpr std::string_view kMagic = "\xff Go buildinf:";
constexpr size_t kHeaderSize = 32;
constexpr uint8_t kFlagBigEndian = 1;
constexpr uint8_t kFlagInline = 2;
constexpr uint64_t kMaxString = 1 << 24;  // build info is a few KiB; this only bounds garbage

struct Header {
  Bytes data;
  uint64_t vaddr;
};

// Finds the header: the section when present, else the first 16-aligned magic in writable data.
Header find_header(const ElfFile& elf) {
  if (const ElfSection* s = elf.section(".go.buildinfo")) return {elf.section_data(*s), s->addr};
  for (const auto& p : elf.segments()) {
    if (p.type != PT_LOAD || (p.flags & PF_W) == 0) continue;
    Bytes data = slice(elf.bytes(), p.offset, p.filesz, elf.name() + ": data segment");
    for (size_t off = 0; off + kHeaderSize <= data.size(); off += 16) {
      if (as_string(data.subspan(off, kMagic.size())) == kMagic) {
        return {data.subspan(off), p.vaddr + off};
      }
    }
  }
  fail("{}: not a Go program (no Go build information)", elf.name());
}

std::string read_inline_string(Cursor& c) {
  uint64_t n = c.uvarint();
  if (n > kMaxString) fail("{}: string of {} bytes is implausible", c.what(), n);
  return std::string(as_string(c.bytes(n)));
}

// Reads a Go string header {ptr, len} at vaddr and the bytes it points to.
std::string read_string_header(const ElfFile& elf, uint64_t vaddr) {
  auto ptr = elf.pointer_at(vaddr);
  auto len = elf.pointer_at(vaddr + 8);
  if (!ptr || !len) fail("{}: build info string header at {:#x} is unreadable", elf.name(), vaddr);
  if (*len > kMaxString) fail("{}: build info string of {} bytes is implausible", elf.name(), *len);
  auto bytes = elf.file_bytes_at(*ptr, *len);
  if (!bytes) fail("{}: build info string at {:#x} is unreadable", elf.name(), *ptr);
  return std::string(as_string(*bytes));
}

// Strips the 16-byte sentinels the linker puts around the module text.
std::string_view strip_sentinels(std::string_view s) {
  if (s.size() >= 33 && s[s.size() - 17] == '\n') return s.substr(16, s.size() - 32);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// Undoes strconv.Quote for the keys and values of build settings that needed quoting.
std::string unquote(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return std::string(s);
  std::string out;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    char ch = s[i];
    if (ch != '\\' || i + 2 >= s.size()) {
      out += ch;
      continue;
    }
    char e = s[++i];
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'x':
        if (i + 2 < s.size()) {
          out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
          i += 2;
        }
        break;
      default:
        out += e;
        break;
    }
  }
  return out;
}

ModuleDep parse_module(const std::vector<std::string_view>& f) {
  ModuleDep m;
  if (f.size() > 1) m.path = f[1];
  if (f.size() > 2) m.version = f[2];
  if (f.size() > 3) m.sum = f[3];
  return m;
}

}  // namespace

std::string BuildInfo::setting(std::string_view key) const {
  for (const auto& s : settings) {
    if (s.key == key) return s.value;
  }
  return {};
}

void parse_modinfo(std::string_view text, BuildInfo& out) {
  for (std::string_view line : split(text, '\n')) {
    if (line.empty()) continue;
    auto f = split(line, '\t');
    std::string_view kind = f[0];
    if (kind == "path" && f.size() > 1) {
      out.path = f[1];
    } else if (kind == "mod") {
      out.main = parse_module(f);
    } else if (kind == "dep") {
      out.deps.push_back(parse_module(f));
    } else if (kind == "=>") {
      ModuleDep r = parse_module(f);
      Module rep{r.path, r.version, r.sum};
      if (!out.deps.empty()) {
        out.deps.back().replace = rep;
      } else if (out.main) {
        out.main->replace = rep;
      }
    } else if (kind == "build" && f.size() > 1) {
      std::string_view kv = line.substr(6);
      // A quoted key may itself contain '='; find the separator after it.
      size_t eq = std::string_view::npos;
      if (!kv.empty() && kv[0] == '"') {
        size_t close = kv.find("\"=", 1);
        if (close != std::string_view::npos) eq = close + 1;
      } else {
        eq = kv.find('=');
      }
      if (eq == std::string_view::npos) {
        out.settings.push_back({unquote(kv), ""});
      } else {
        out.settings.push_back({unquote(kv.substr(0, eq)), unquote(kv.substr(eq + 1))});
      }
    }
  }
}

BuildInfo read_build_info(const ElfFile& elf) {
  Header header = find_header(elf);
  std::string what = elf.name() + ": .go.buildinfo";
  Cursor c(header.data, what);
  if (as_string(c.bytes(kMagic.size())) != kMagic) {
    fail("{}: not a Go program (bad build information magic)", elf.name());
  }
  uint8_t ptr_size = c.u8();
  uint8_t flags = c.u8();
  if (flags & kFlagBigEndian) fail("{}: big-endian Go binaries are not supported", elf.name());
  BuildInfo info;
  std::string modinfo;
  if (flags & kFlagInline) {
    c.seek(kHeaderSize);
    info.go_version = read_inline_string(c);
    modinfo = read_inline_string(c);
  } else {
    if (ptr_size != 8) fail("{}: {}-byte pointers are not supported", what, ptr_size);
    auto version = elf.pointer_at(header.vaddr + 16);
    auto mod = elf.pointer_at(header.vaddr + 24);
    if (!version || !mod) fail("{}: build information pointers are unreadable", what);
    info.go_version = read_string_header(elf, *version);
    modinfo = read_string_header(elf, *mod);
  }
  if (info.go_version.rfind("go", 0) != 0 && info.go_version.rfind("devel", 0) != 0) {
    fail("{}: corrupt build information (version {:?})", elf.name(), info.go_version);
  }
  parse_modinfo(strip_sentinels(modinfo), info);
  return info;
}

}  // namespace ifx
