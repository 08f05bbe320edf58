# shellcheck shell=bash
# Sourced by scripts/test and scripts/demo: repository root, PATH and the one build configuration
# they share (same flags, so switching between the two never forces a rebuild).
set -euo pipefail

IFXRAY_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IFXRAY_BUILD_DIR=${IFXRAY_BUILD_DIR:-build}
cd "$IFXRAY_ROOT"

# go1.26 is preinstalled in /usr/local/go/bin; the build and the tests look 'go' up on PATH.
if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="/usr/local/go/bin:$PATH"
fi

ifxray_setup() { bash "$IFXRAY_ROOT/scripts/setup"; }

ifxray_configure() {
  cmake -S . -B "$IFXRAY_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIFXRAY_WERROR=ON
}
