#!/usr/bin/env bash
# Every public header compiles on its own, and the umbrella header with all of
# them, as C11 (gcc, clang) and as C++11 (g++, clang++), with
# -Wall -Wextra -Wpedantic -Werror (C++ adds -Wold-style-cast,
# -Wzero-as-null-pointer-constant and -Wshadow, which C++ projects commonly
# turn on; -Wshadow catches a struct tag named like a function).  A
# second unit per language also expands each object-like CT_<TYPE>_INIT
# initialiser (static and automatic), so the "valid when zero-initialised"
# initialisers stay legal C++11 and free of missing-field warnings; a third
# uses the function-like and constant macros (CT_MS, CT_FOREVER, the version
# macros, CT_BEGIN/END_ALLOW_THREADS) — in C at file scope, so they must stay
# constant expressions.  C++ compilers also check <cthreading.hpp>.
# Usage: headers.sh INCLUDE_DIR GENERATED_INCLUDE_DIR WORK_DIR [COMPILER...]
# (GENERATED_INCLUDE_DIR holds the cthreading/version.h CMake generates;
# compilers whose name contains "++" compile C++; the others C)
#
# SPDX-License-Identifier: MIT
set -euo pipefail
inc=$(cd "$1" && pwd)
gen=$(cd "$2" && pwd)
work=$3
shift 3
rm -rf "$work"
mkdir -p "$work"
[ -f "$gen/cthreading/version.h" ] || { echo "FAIL: $gen/cthreading/version.h is missing"; exit 1; }

headers=("cthreading.h" "cthreading/version.h")
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

cat >"$work/macros.in" <<'EOF_MACROS'
#include <cthreading.h>
#if !defined(CT_VERSION_MAJOR) || !defined(CT_VERSION_MINOR) || !defined(CT_VERSION_PATCH)
#error "version macros missing"
#endif
#if CT_VERSION_NUMBER != CT_VERSION_MAJOR * 10000 + CT_VERSION_MINOR * 100 + CT_VERSION_PATCH
#error "CT_VERSION_NUMBER does not match"
#endif
#if CT_FOREVER != -1 || CT_TIMEOUT_MAX != 9223372036000000000
#error "CT_FOREVER / CT_TIMEOUT_MAX are not usable in #if"
#endif
static const int64_t ct_hygiene_times[] = { CT_US(3), CT_MS(2), CT_SEC(1), CT_FOREVER,
                                            CT_TIMEOUT_MAX, CT_GIL_DEFAULT_INTERVAL };
static const char ct_hygiene_version[] = CT_VERSION_STRING;
int ct_hygiene_macros(ct_gil_t *g, int64_t n);
int ct_hygiene_macros(ct_gil_t *g, int64_t n)
{
    int64_t t = CT_MS(n) + CT_US(n + 1) + CT_SEC(n * 2);
    CT_BEGIN_ALLOW_THREADS(g)
    t += ct_hygiene_times[0];
    CT_END_ALLOW_THREADS(g)
    return t > 0 && ct_hygiene_version[0] != 0;
}
EOF_MACROS
units+=("$work/macros.in")

fail=0
checked=0
printf '#include <cthreading.hpp>\n#include <cthreading.hpp>\nint ct_hygiene_unit;\n' \
  >"$work/cthreading_hpp.in"
for cc in "$@"; do
  cxx_units=()
  if [[ $(basename "$cc") == *++* ]]; then
    lang=(-x c++ -std=c++11 -Wold-style-cast -Wzero-as-null-pointer-constant -Wshadow)
    cxx_units=("$work/cthreading_hpp.in")
  else
    lang=(-x c -std=c11 -Wstrict-prototypes)
  fi
  for u in "${units[@]}" "${cxx_units[@]}"; do
    flags=("${lang[@]}" -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$inc" -I"$gen")
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
echo "PASS: $checked units over $# compilers ($*) compile with -Wall -Wextra -Wpedantic -Werror" \
     "(C++: also -Wold-style-cast -Wzero-as-null-pointer-constant -Wshadow)"
