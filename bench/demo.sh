#!/usr/bin/env bash
# The README's first command: installs what is missing (Debian), builds the
# release preset and prints the benchmark's quick table (< 20 s of measuring).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v gcc >/dev/null || need+=(gcc)
# shellcheck source=test/apt_install.sh
. test/apt_install.sh
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
exec build/release/bench/cthreading-bench --quick "$@"
