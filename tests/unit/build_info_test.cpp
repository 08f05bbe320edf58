// The module text of runtime/debug as the linker embeds it.
#include <doctest/doctest.h>

#include "core/binary/build_info.h"

TEST_CASE("modinfo with dependencies, replacements and quoted settings") {
  ifx::BuildInfo info;
  ifx::parse_modinfo(
      "path\texample.com/cmd/srv\n"
      "mod\texample.com\t(devel)\t\n"
      "dep\tgolang.org/x/sys\tv0.1.0\th1:abc=\n"
      "dep\texample.com/local\tv0.0.0\n"
      "=>\t./local\t\n"
      "build\t-buildmode=exe\n"
      "build\t-ldflags=\"-s -w\"\n"
      "build\tCGO_ENABLED=0\n"
      "build\t\"odd=key\"=v\n",
      info);
  CHECK(info.path == "example.com/cmd/srv");
  REQUIRE(info.main);
  CHECK(info.main->path == "example.com");
  CHECK(info.main->version == "(devel)");
  REQUIRE(info.deps.size() == 2);
  CHECK(info.deps[0].sum == "h1:abc=");
  CHECK_FALSE(info.deps[0].replace);
  REQUIRE(info.deps[1].replace);
  CHECK(info.deps[1].replace->path == "./local");
  REQUIRE(info.settings.size() == 4);
  CHECK(info.setting("-ldflags") == "-s -w");
  CHECK(info.setting("CGO_ENABLED") == "0");
  CHECK(info.settings[3].key == "odd=key");
  CHECK(info.settings[3].value == "v");
}

TEST_CASE("empty and malformed lines are ignored") {
  ifx::BuildInfo info;
  ifx::parse_modinfo("\n\nbogus\nbuild\n=>\tx\n", info);
  CHECK(info.deps.empty());
  CHECK_FALSE(info.main);
}
