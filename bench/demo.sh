#!/usr/bin/env bash
# The README's first command: installs what is missing (Debian), builds the
# release preset and prints the workload matrices' quick tables (lock, rlock,
# handoff: ~40 s of measuring on the 2-core VM).  Extra arguments go to
# cthreading-bench, e.g. --csv=matrix.csv for bench/plot_ratios.sh.  The full
# matrix: build/release/bench/cthreading-bench --matrix=all; the older
# one-pattern table: build/release/bench/cthreading-bench --quick.
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
exec build/release/bench/cthreading-bench --matrix=all --quick "$@"
