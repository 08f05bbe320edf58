// Go version strings in their release, candidate and devel forms.
#include <doctest/doctest.h>

#include "core/binary/go_version.h"

using ifx::GoVersion;
using ifx::parse_go_version;

TEST_CASE("release versions") {
  CHECK(parse_go_version("go1.26.8") == GoVersion{1, 26, 8});
  CHECK(parse_go_version("go1.19") == GoVersion{1, 19, 0});
  CHECK(parse_go_version("go1.27rc1") == GoVersion{1, 27, 0});
  CHECK(parse_go_version("devel go1.28-abcdef Tue") == GoVersion{1, 28, 0});
  CHECK(parse_go_version("go1.21.0 X:boringcrypto") == GoVersion{1, 21, 0});
}

TEST_CASE("garbage gives an unknown version") {
  CHECK_FALSE(parse_go_version("").known());
  CHECK_FALSE(parse_go_version("gogo").known());
  CHECK_FALSE(parse_go_version("go.1").known());
}

TEST_CASE("ordering") {
  CHECK(parse_go_version("go1.19.13") < parse_go_version("go1.20"));
  CHECK(parse_go_version("go1.26.8").at_least(26));
  CHECK_FALSE(parse_go_version("go1.19").at_least(20));
}
