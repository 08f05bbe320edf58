// Go build information from .go.buildinfo: the toolchain version and the module text that
// `go version -m` prints (main module, dependencies with replacements, build settings).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/binary/elf_file.h"

namespace ifx {

struct Module {
  std::string path;
  std::string version;
  std::string sum;
};

struct ModuleDep {
  std::string path;
  std::string version;
  std::string sum;
  std::optional<Module> replace;
};

struct BuildSetting {
  std::string key;
  std::string value;
};

struct BuildInfo {
  std::string go_version;  // "go1.26.8"
  std::string path;        // the main package path
  std::optional<ModuleDep> main;
  std::vector<ModuleDep> deps;
  std::vector<BuildSetting> settings;

  // The value of a build setting, or empty.
  std::string setting(std::string_view key) const;
};

// Finds .go.buildinfo (by section, else by its magic in the writable data) and decodes it.
// Fails when the file has no Go build information or it is corrupt.
BuildInfo read_build_info(const ElfFile& elf);

// Parses the module text (without its 16-byte sentinels), the format of runtime/debug.
void parse_modinfo(std::string_view text, BuildInfo& out);

}  // namespace ifx
