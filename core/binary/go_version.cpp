// Lenient parsing of Go version strings: release, release candidate and devel forms.
#include "core/binary/go_version.h"

#include <cctype>

namespace ifx {
namespace {

int read_number(std::string_view s, size_t& i) {
  int v = 0;
  size_t start = i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && i - start < 6) {
    v = v * 10 + (s[i] - '0');
    ++i;
  }
  return i == start ? -1 : v;
}

}  // namespace

GoVersion parse_go_version(std::string_view s) {
  for (size_t at = s.find("go"); at != std::string_view::npos; at = s.find("go", at + 1)) {
    size_t i = at + 2;
    int major = read_number(s, i);
    if (major < 1 || i >= s.size() || s[i] != '.') continue;
    ++i;
    int minor = read_number(s, i);
    if (minor < 0) continue;
    int patch = 0;
    if (i < s.size() && s[i] == '.') {
      ++i;
      patch = read_number(s, i);
      if (patch < 0) patch = 0;
    }
    return {major, minor, patch};
  }
  return {};
}

}  // namespace ifx
