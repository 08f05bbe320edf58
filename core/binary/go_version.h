// Go toolchain versions as found in build info ("go1.26.8", "go1.27rc1", "devel go1.28-abc").
#pragma once

#include <compare>
#include <string_view>

namespace ifx {

struct GoVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;

  bool known() const { return major > 0; }
  auto operator<=>(const GoVersion&) const = default;
  // True when this version is at least 1.`minor`.
  bool at_least(int minor_version) const {
    return major > 1 || (major == 1 && minor >= minor_version);
  }
};

// Parses the first "goX.Y[.Z]" in s; {0,0,0} when there is none.
GoVersion parse_go_version(std::string_view s);

}  // namespace ifx
