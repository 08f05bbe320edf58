// The JSON writer places commas, keys and indentation for its callers.
#include <doctest/doctest.h>

#include "formats/json_writer.h"

using ifx::formats::JsonWriter;

TEST_CASE("nested objects and arrays") {
  JsonWriter w;
  w.begin_object().field("a", int64_t{1}).key("b").begin_array();
  w.value("x").value(true).null();
  w.end_array().key("c").begin_object().end_object();
  w.key("pc").hex(0x401000);
  w.end_object();
  CHECK(w.str() ==
        "{\n  \"a\": 1,\n  \"b\": [\n    \"x\",\n    true,\n    null\n  ],\n  \"c\": {},\n"
        "  \"pc\": \"0x401000\"\n}\n");
}

TEST_CASE("empty array") {
  JsonWriter w;
  w.begin_array().end_array();
  CHECK(w.str() == "[]\n");
}
