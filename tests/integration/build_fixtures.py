"""ctest setup step: build every fixture x toolchain x variant once (cached)."""
import sys
import time

import fixtures


def main():
    t0 = time.monotonic()
    try:
        built = fixtures.build_all(jobs=2)
    except fixtures.FixtureError as e:
        print(f"build_fixtures: FAILED: {e}")
        sys.exit(1)
    for tc in fixtures.toolchains():
        print(f"  {tc.name}: {tc.version} at {tc.goroot}")
    print(f"build_fixtures: {len(built)} passed, 0 failed ({time.monotonic() - t0:.0f}s)")


if __name__ == "__main__":
    main()
