// UTF-8 aware escaping: a byte sequence is kept only when it is a complete, minimal encoding.
#include "formats/escape.h"

#include <fmt/format.h>

namespace ifx::formats {
namespace {

// Length of the valid UTF-8 sequence at s[i] (2-4), or 0 when it is not one.
size_t utf8_sequence(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b = byte(i);
  size_t len = b >= 0xf0 && b <= 0xf4   ? 4
               : b >= 0xe0 && b <= 0xef ? 3
               : b >= 0xc2 && b <= 0xdf ? 2
                                        : 0;
  if (len == 0 || i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  }
  unsigned char b1 = byte(i + 1);
  if (b == 0xe0 && b1 < 0xa0) return 0;   // overlong
  if (b == 0xed && b1 >= 0xa0) return 0;  // surrogate
  if (b == 0xf0 && b1 < 0x90) return 0;   // overlong
  if (b == 0xf4 && b1 >= 0x90) return 0;  // above U+10FFFF
  return len;
}

}  // namespace

std::string escape_terminal(std::string_view s) {
  // Nearly every name and path is printable ASCII: copy it whole.
  bool clean = true;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    clean = clean && c >= 0x20 && c < 0x7f;
  }
  if (clean) return std::string(s);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
    } else if (size_t n = c >= 0x80 ? utf8_sequence(s, i) : 0; n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    }
  }
  return out;
}

void append_terminal(std::string& out, std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f) {
      out += escape_terminal(s);
      return;
    }
  }
  out.append(s);
}

std::string escape_json(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\u{:04x}", c);
    } else if (c >= 0x80) {
      size_t n = utf8_sequence(s, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  return out;
}

}  // namespace ifx::formats
