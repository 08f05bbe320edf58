// Plain data describing a Go executable, as `ifxray info` reports it. No I/O, no target types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/report/layout.h"

namespace ifx::report {

struct Module {
  std::string path;
  std::string version;
  std::string sum;
};

struct Dependency {
  Module module;
  std::optional<Module> replace;
};

struct Setting {
  std::string key;
  std::string value;
};

struct SourceFrame {
  std::string function;
  std::string file;
  int32_t line = 0;
  bool inlined = false;
};

// The answer to one --pc query.
struct PcLookup {
  uint64_t pc = 0;
  std::string function;  // physical function
  uint64_t entry = 0;
  int32_t sp_delta = 0;
  std::vector<SourceFrame> frames;  // innermost first
  std::string error;                // set when the pc could not be resolved
};

// The answer to one --func query.
struct FuncLookup {
  std::string name;
  uint64_t entry = 0;
  uint64_t end = 0;
  int32_t frame_size = 0;
  int32_t args = 0;
  std::string file;
  int32_t start_line = 0;
  int32_t end_line = 0;
  std::string error;
};

struct Executable {
  std::string path;
  std::string go_version;
  std::string main_path;
  std::optional<Dependency> main_module;
  std::vector<Dependency> deps;
  std::vector<Setting> settings;
  std::string goos;
  std::string goarch;
  bool pie = false;
  bool dwarf = false;
  bool symbols = false;
  std::string build_id;
  std::string go_build_id;
  uint64_t text_start = 0;
  uint64_t text_end = 0;
  std::string pclntab_version;
  uint32_t functions = 0;
  uint32_t files = 0;
  std::vector<PcLookup> pcs;
  std::vector<FuncLookup> funcs;
  std::optional<RuntimeLayout> layout;  // with --layout
};

}  // namespace ifx::report
