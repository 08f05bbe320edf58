// Plain data: the runtime layout and globals ifxray uses for an executable (`info --layout`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ifx::report {

struct LayoutEntry {
  std::string name;                // "runtime.g.goid", "runtime.g" (a size), "runtime.allgs"
  std::optional<uint64_t> offset;  // field offset, type size, or global address
  std::optional<uint64_t> size;    // field size (fields only)
};

struct RuntimeLayout {
  std::string source;
  std::string globals_source;
  std::vector<LayoutEntry> fields;
  std::vector<LayoutEntry> sizes;
  std::vector<LayoutEntry> globals;
  std::vector<std::string> problems;
};

}  // namespace ifx::report
