// Escaping of strings that came from the target before they reach a terminal or a JSON document.
#pragma once

#include <string>
#include <string_view>

namespace ifx::formats {

// For terminals: control characters, DEL and invalid UTF-8 become \xNN / \u escapes; valid
// UTF-8 passes through.
std::string escape_terminal(std::string_view s);
// The same, appended to out (no temporary string for the common clean case).
void append_terminal(std::string& out, std::string_view s);
// For JSON string bodies (without the quotes): RFC 8259 escapes; invalid UTF-8 bytes become
// U+FFFD so the document stays valid.
std::string escape_json(std::string_view s);

}  // namespace ifx::formats
