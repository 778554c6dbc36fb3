#!/usr/bin/env bash
# Every public header compiles on its own, and the umbrella header with all of
# them, as C11 (gcc, clang) and as C++11 (g++, clang++), with
# -Wall -Wextra -Wpedantic -Werror.  A second unit per language also expands
# each object-like CT_<TYPE>_INIT initialiser (static and automatic), so the
# "valid when zero-initialised" initialisers stay legal C++11 and free of
# missing-field warnings.
# Usage: headers.sh INCLUDE_DIR WORK_DIR [COMPILER...]  (compilers whose name
# contains "++" compile C++; the others C)
#
# SPDX-License-Identifier: MIT
set -euo pipefail
inc=$(cd "$1" && pwd)
work=$2
shift 2
rm -rf "$work"
mkdir -p "$work"

headers=("cthreading.h")
for h in "$inc"/cthreading/*.h; do
  headers+=("cthreading/$(basename "$h")")
done

# Units: one per header, plus the initialisers unit.
units=()
for h in "${headers[@]}"; do
  u="$work/$(echo "$h" | tr '/.' '__')"
  printf '#include <%s>\n#include <%s>\nint ct_hygiene_unit;\n' "$h" "$h" >"$u.in"
  units+=("$u.in")
done
{
  echo '#include <cthreading.h>'
  # Object-like CT_FOO_INIT / CT_FOO_BAR_INIT -> type ct_foo_t / ct_foo_bar_t.
  inits=$(cat "$inc"/cthreading/*.h | sed -n 's/^#[[:space:]]*define[[:space:]]\{1,\}CT_\([A-Z0-9_]*\)_INIT[[:space:]].*/\1/p' | sort -u)
  n=0
  for t in $inits; do
    lower=$(echo "$t" | tr 'A-Z' 'a-z')
    echo "static ct_${lower}_t ct_hygiene_static_$n = CT_${t}_INIT;"
    echo "void ct_hygiene_auto_$n(void); void ct_hygiene_auto_$n(void) { ct_${lower}_t v = CT_${t}_INIT; (void)v; (void)&ct_hygiene_static_$n; }"
    n=$((n + 1))
  done
  echo "int ct_hygiene_inits = $n;"
} >"$work/initialisers.in"
units+=("$work/initialisers.in")
echo "initialisers checked: $(grep -c 'static ct_' "$work/initialisers.in")"

fail=0
checked=0
for cc in "$@"; do
  if [[ $(basename "$cc") == *++* ]]; then
    lang=(-x c++ -std=c++11)
  else
    lang=(-x c -std=c11 -Wstrict-prototypes)
  fi
  for u in "${units[@]}"; do
    flags=("${lang[@]}" -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$inc")
    if ! out=$("$cc" "${flags[@]}" "$u" 2>&1); then
      echo "FAIL: $cc ${lang[*]}: $(basename "$u" .in)"
      echo "$out" | head -20
      fail=1
    fi
    checked=$((checked + 1))
  done
done
[ "$checked" -gt 0 ] || { echo "FAIL: no compiler given"; exit 1; }
[ "$fail" -eq 0 ] || exit 1
echo "PASS: ${#units[@]} units x $# compilers ($*) compile with -Wall -Wextra -Wpedantic -Werror"
