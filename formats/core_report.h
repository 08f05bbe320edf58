// Renders `ifxray core`: the info, goroutine groups, leaks and pitfalls of a core on one page
// (text), or as one JSON document of the commands' own documents.
#pragma once

#include <string>

#include "core/report/goroutines.h"
#include "core/report/leaks.h"
#include "core/report/target.h"
#include "formats/format.h"

namespace ifx::formats {

struct CoreSections {
  const report::TargetInfo* info = nullptr;
  const report::Goroutines* goroutines = nullptr;
  const report::Leaks* leaks = nullptr;
  // Pitfalls, rendered by their own format (formats/pitfalls.h).
  std::string pitfalls_text, pitfalls_json;
};

std::string render_core(const CoreSections& s, Format format);

}  // namespace ifx::formats
