#!/usr/bin/env bash
# What the installed libraries export.
#   shared: only ct_ symbols (never ct__ internals) are exported, and exactly
#           the functions (and the thread-local ct_thread_self_) the public
#           headers declare with CT_API (so FFI users find every one); SONAME libcthreading.so.MAJOR; the file carries
#           the full version, with the usual symlinks.
#   static: every global symbol is ct_-prefixed (internals ct__), so static
#           linking cannot clash with the user's names.
# Usage: symbols.sh PREFIX INCLUDE_DIR VERSION
#
# SPDX-License-Identifier: MIT
set -euo pipefail
prefix=$1 inc=$2 version=$3
major=${version%%.*}
fail=0
bad() { echo "FAIL: $*"; fail=1; }

lib="$prefix/lib/libcthreading.so"
[ -L "$lib" ] || bad "$lib is not a symlink (to the versioned file)"
[ -L "$lib.$major" ] || bad "$lib.$major is missing or not a symlink"
[ -f "$lib.$version" ] || bad "$lib.$version (the versioned file) is missing"
real=$(readlink -f "$lib")
[ "$(basename "$real")" = "libcthreading.so.$version" ] || bad "libcthreading.so resolves to $real"
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libcthreading.so.$major" ] || bad "SONAME is '$soname', expected libcthreading.so.$major"

# Functions declared CT_API in the public headers (comments removed first),
# and the thread-local data they declare CT__TLS_API extern __thread.
api=$(cat "$inc"/cthreading.h "$inc"/cthreading/*.h |
      perl -0777 -ne 's{/\*.*?\*/}{}gs; s{//[^\n]*}{}g;
                      while (/\bCT_API\b[^;{]*?\b(ct_\w+)\s*\(/g) { print "$1\n" }
                      while (/\bCT__TLS_API\s+extern\s+__thread\s+\w+\s+(ct_\w+)\b/g) { print "$1\n" }' | sort -u)
# Linker-defined symbols some toolchains add to every shared object.
linker='^(_init|_fini|_edata|_end|__bss_start)$'
exported=$(nm -D --defined-only "$lib" | awk '{ print $NF }' | sed 's/@.*//' |
           grep -Ev "$linker" | sort -u)

while read -r s; do
  [ -z "$s" ] && continue
  case $s in
    ct__*) bad "internal symbol exported: $s" ;;
    ct_*) grep -qx "$s" <<<"$api" || bad "exported but not declared CT_API in a public header: $s" ;;
    *) bad "exported symbol without the ct_ prefix: $s" ;;
  esac
done <<<"$exported"
while read -r s; do
  [ -z "$s" ] && continue
  grep -qx "$s" <<<"$exported" || bad "declared CT_API but not exported: $s"
done <<<"$api"

archive="$prefix/lib/libcthreading.a"
if [ -f "$archive" ]; then
  globals=$(nm -g --defined-only "$archive" 2>/dev/null | awk 'NF >= 3 { print $NF }' | sort -u)
  while read -r s; do
    [ -z "$s" ] && continue
    case $s in
      ct_*) ;;
      *) bad "libcthreading.a defines a global symbol without the ct_ prefix: $s" ;;
    esac
  done <<<"$globals"
  nstatic=$(grep -c . <<<"$globals" || true)
else
  bad "$archive is missing"
  nstatic=0
fi

[ "$fail" -eq 0 ] || exit 1
echo "PASS: SONAME $soname, file $(basename "$real"); $(grep -c . <<<"$exported") exported symbols" \
     "= the $(grep -c . <<<"$api") CT_API functions of the headers; $nstatic ct_ globals in libcthreading.a"
