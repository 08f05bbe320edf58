// Format names and stdout writing.
#include "formats/format.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/util/error.h"

namespace ifx::formats {

std::optional<Format> parse_format(std::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  return std::nullopt;
}

void emit(const std::string& document) {
  if (std::fwrite(document.data(), 1, document.size(), stdout) != document.size() ||
      std::fflush(stdout) != 0) {
    fail("cannot write output: {}", std::strerror(errno));
  }
}

}  // namespace ifx::formats
