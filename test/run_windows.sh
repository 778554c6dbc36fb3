#!/usr/bin/env bash
# The Windows leg of the test command: cross-builds the library and every test
# for 64-bit Windows with mingw-w64 and runs them under Wine (Debian/Ubuntu).
#
#   test/run_windows.sh            # build dir: build/windows
#   CT_WINDOWS_BUILD_DIR=/tmp/w test/run_windows.sh
#
# Installs gcc-mingw-w64-x86-64 and wine64 with apt-get when missing (as root,
# or through sudo).  Wine runs headless (DISPLAY unset, WINEDEBUG=-all) in a
# throw-away WINEPREFIX under the build dir, which is deleted afterwards.
# Wine's background services (wineserver, services.exe, ...) are started
# before ctest, detached from its pipes — started by the first test they
# would inherit ctest's output pipes and ctest would wait for them forever —
# and stopped at the end.  Exits non-zero on any build or test failure, and
# says so loudly when Wine itself cannot start.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${CT_WINDOWS_BUILD_DIR:-$root/build/windows}
jobs=$(nproc 2>/dev/null || echo 2)
t0=$(date +%s)

loud() {
  {
    echo
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    echo "!! WINDOWS TESTS NOT RUN: $*"
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  } >&2
  exit 1
}

find_wine() {
  # Debian 12 has no /usr/bin/wine64; its 64-bit loader lives here.  The
  # `wine` wrapper works too but nags about wine32 on every start.
  for w in /usr/lib/wine/wine64 /usr/lib64/wine/wine64 "$(command -v wine64 || true)" \
           "$(command -v wine || true)"; do
    if [ -n "$w" ] && [ -x "$w" ]; then echo "$w"; return; fi
  done
}
find_wineserver() {
  for w in "$(command -v wineserver || true)" /usr/lib/wine/wineserver64 \
           /usr/lib/wine/wineserver; do
    if [ -n "$w" ] && [ -x "$w" ]; then echo "$w"; return; fi
  done
}

# ---- dependencies -------------------------------------------------------------
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
{ [ -n "$(find_wine)" ] && [ -n "$(find_wineserver)" ]; } || need+=(wine64)
if [ ${#need[@]} -gt 0 ]; then
  echo "== windows: installing ${need[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || loud "need root or sudo to install ${need[*]}"
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null \
    || loud "apt-get install ${need[*]} failed"
fi
wine=$(find_wine)
wineserver=$(find_wineserver)
[ -n "$wine" ] || loud "no Wine loader (wine64) found after installing wine64"
[ -n "$wineserver" ] || loud "no wineserver found after installing wine64"
t_deps=$(date +%s)

# ---- build ----------------------------------------------------------------------
# The same settings as the `windows` preset, with the build dir and the Wine
# loader made explicit.  Examples are off: they may use POSIX or C11 library
# calls that mingw's msvcrt lacks (timespec_get); -DCT_BUILD_EXAMPLES=ON
# builds those that include no POSIX header.
echo "== windows: configure + build in $build"
mkdir -p "$build"
log=$build/build.log
if ! cmake -S "$root" -B "$build" \
       -DCMAKE_TOOLCHAIN_FILE="$root/cmake/mingw-w64-x86_64.cmake" \
       -DCMAKE_BUILD_TYPE=Debug -DCT_WERROR=ON -DCT_BUILD_BENCH=OFF -DCT_BUILD_EXAMPLES=OFF \
       -DCMAKE_CROSSCOMPILING_EMULATOR="$wine" >"$log" 2>&1 \
   || ! cmake --build "$build" -j "$jobs" >>"$log" 2>&1; then
  tail -40 "$log"
  echo "windows: BUILD FAILED (see $log)"
  exit 1
fi
t_build=$(date +%s)

# ---- Wine -------------------------------------------------------------------------
export WINEPREFIX=$build/wineprefix
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="     # no Mono/Gecko install prompts
unset DISPLAY WAYLAND_DISPLAY
# WINESERVER tells the loader which server to start should it need one.
export WINESERVER=$wineserver

stop_wine() {
  "$wineserver" -k >/dev/null 2>&1 || true
  "$wineserver" -w >/dev/null 2>&1 || true    # wait until it is gone
  rm -rf "$WINEPREFIX"
}
stop_wine      # a server left over from an interrupted run
trap stop_wine EXIT

echo "== windows: starting Wine ($("$wine" --version 2>/dev/null || echo '?'), prefix $WINEPREFIX)"
# Persistent server plus the prefix's services, all detached from our pipes.
mkdir -p "$WINEPREFIX"      # wineserver needs it; Wine fills it on first start
timeout 120 "$wineserver" -p </dev/null >/dev/null 2>&1 \
  || loud "wineserver did not start ($wineserver)"
timeout 300 "$wine" cmd /c exit </dev/null >/dev/null 2>&1 \
  || loud "Wine cannot start Windows programs ($wine cmd /c exit failed; prefix $WINEPREFIX)"
hello=$(timeout 120 "$wine" cmd /c echo wine-ok </dev/null 2>/dev/null | tr -d '\r') || true
[ "$hello" = "wine-ok" ] || loud "Wine started but cannot run a console program (got '$hello')"
t_wine=$(date +%s)

# ---- tests ------------------------------------------------------------------------
echo "== windows: ctest"
rc=0
(cd "$build" && ctest -j1 --output-on-failure) 2>&1 | tee "$build/ctest.log" || rc=$?
grep -q '100% tests passed' "$build/ctest.log" || rc=1
t_end=$(date +%s)

summary=$(grep -E 'tests passed' "$build/ctest.log" | tail -1)
echo "windows: ${summary:-no ctest summary}"
echo "windows: times: dependencies $((t_deps - t0)) s, build $((t_build - t_deps)) s," \
     "Wine start $((t_wine - t_build)) s, tests $((t_end - t_wine)) s, total $((t_end - t0)) s"
exit $rc
