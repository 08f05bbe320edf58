// Output formats, their names on the command line, and the one place that writes stdout.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ifx::formats {

enum class Format { kText, kJson };

std::optional<Format> parse_format(std::string_view name);

// Writes a rendered document to stdout; fails (Error) when stdout cannot be written.
void emit(const std::string& document);

}  // namespace ifx::formats
