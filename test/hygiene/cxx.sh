#!/usr/bin/env bash
# Builds cxx_use.cpp with a C++ compiler as C++11 (-Wall -Wextra -Wpedantic
# -Werror) against an installed prefix, links it with libcthreading.so and
# runs it.  Usage: cxx.sh CXX PREFIX WORK_DIR
#
# SPDX-License-Identifier: MIT
set -euo pipefail
cxx=$1 prefix=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
"$cxx" -std=c++11 -Wall -Wextra -Wpedantic -Werror -I"$prefix/include" \
  "$(dirname "$0")/cxx_use.cpp" -o "$work/cxx_use" \
  -L"$prefix/lib" -Wl,-rpath,"$prefix/lib" -lcthreading -pthread
readelf -d "$work/cxx_use" | grep -q 'NEEDED.*libcthreading\.so' \
  || { echo "FAIL: not linked against libcthreading.so"; exit 1; }
"$work/cxx_use"
echo "PASS: $("$cxx" --version | head -1) builds and runs a C++11 program on libcthreading.so"
