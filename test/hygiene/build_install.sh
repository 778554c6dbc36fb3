#!/usr/bin/env bash
# Whole-library build with -Wall -Wextra -Wpedantic -Werror (the library's own
# warning set plus CT_WERROR=ON) by one compiler, then `cmake --install` into
# the prefixes given.  Run by the hygiene_werror_* ctest cases, which are the
# fixture that installs the trees the consumer and symbol tests use.
# Usage: build_install.sh NAME CC shared|static BUILD_TYPE PREFIX...
# Environment: CT_SRC, CT_WORK, CT_GENERATOR, CT_MAKE_PROGRAM, CT_BACKEND.
#
# SPDX-License-Identifier: MIT
set -euo pipefail
name=$1 cc=$2 type=$3 build_type=$4
shift 4
work="$CT_WORK/lib-$name"
rm -rf "$work"
mkdir -p "$work"
shared=OFF; [ "$type" = shared ] && shared=ON
args=(-S "$CT_SRC" -B "$work/build" -G "$CT_GENERATOR" -DCMAKE_C_COMPILER="$cc"
      -DCMAKE_BUILD_TYPE="$build_type" -DBUILD_SHARED_LIBS=$shared -DCT_WERROR=ON
      -DCT_WAIT_BACKEND="$CT_BACKEND" -DCT_INSTALL=ON
      -DCT_BUILD_TESTS=OFF -DCT_BUILD_BENCH=OFF -DCT_BUILD_EXAMPLES=OFF
      "-DCMAKE_C_FLAGS=-Wall -Wextra -Wpedantic -Werror")
[ -n "${CT_MAKE_PROGRAM:-}" ] && args+=(-DCMAKE_MAKE_PROGRAM="$CT_MAKE_PROGRAM")
cmake "${args[@]}" >"$work/configure.log" 2>&1 \
  || { cat "$work/configure.log"; echo "FAIL: configure ($cc)"; exit 1; }
# Any warning is an error here; show the compiler's words if the build fails.
cmake --build "$work/build" >"$work/build.log" 2>&1 \
  || { cat "$work/build.log"; echo "FAIL: $cc $type build is not warning-free"; exit 1; }
for prefix in "$@"; do
  cmake --install "$work/build" --prefix "$prefix" >"$work/install.log" 2>&1 \
    || { cat "$work/install.log"; echo "FAIL: install into $prefix"; exit 1; }
done
echo "PASS: $("$cc" --version | head -1): $type $build_type build with -Werror, installed"
