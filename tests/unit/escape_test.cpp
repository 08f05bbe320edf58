// Escaping of target strings for terminals and JSON.
#include <doctest/doctest.h>

#include "formats/escape.h"

using ifx::formats::escape_json;
using ifx::formats::escape_terminal;

TEST_CASE("terminal escaping keeps printable text and UTF-8") {
  CHECK(escape_terminal("main.(*Server).handle") == "main.(*Server).handle");
  CHECK(escape_terminal("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(escape_terminal("\x1b[31mred") == "\\x1b[31mred");
  CHECK(escape_terminal(std::string_view("a\0b", 3)) == "a\\x00b");
  CHECK(escape_terminal("\xff\xfe") == "\\xff\\xfe");
  CHECK(escape_terminal("\xc3") == "\\xc3");                    // truncated sequence
  CHECK(escape_terminal("\xe0\x80\x80") == "\\xe0\\x80\\x80");  // overlong
  CHECK(escape_terminal("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // surrogate
}

TEST_CASE("json escaping yields valid JSON string bodies") {
  CHECK(escape_json("a\"b\\c") == "a\\\"b\\\\c");
  CHECK(escape_json("\n\t\r") == "\\n\\t\\r");
  CHECK(escape_json("\x01") == "\\u0001");
  CHECK(escape_json("\x7f") == "\\u007f");
  CHECK(escape_json("\xff") == "\\ufffd");
  CHECK(escape_json("\xe2\x82\xac") == "\xe2\x82\xac");
}
