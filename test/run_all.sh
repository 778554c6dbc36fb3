#!/usr/bin/env bash
# The README's test command: installs what is missing (Debian), then builds
# and runs the whole suite four ways — gcc debug (Criterion), clang +
# ThreadSanitizer (built-in runner), clang + AddressSanitizer + UBSan, and the
# portable parking backend as a shared library — then the reliability runs, the Windows build,
# and the quick subset of the mutation gate (test/mutate/: known bugs the
# tests must catch), and ends with each part's summary line.
# Exits non-zero on any failure or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# ---- dependencies -------------------------------------------------------------
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v gcc >/dev/null || need+=(gcc)
command -v clang >/dev/null || need+=(clang)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v g++ >/dev/null || need+=(g++)
command -v clang++ >/dev/null || need+=(clang)
command -v python3 >/dev/null || need+=(python3)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
pkg-config --exists criterion 2>/dev/null || need+=(libcriterion-dev)
# clang's sanitizer and libFuzzer runtimes
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.tsan-x86_64.a >/dev/null 2>&1 \
  || need+=(libclang-rt-14-dev)
# shellcheck source=test/apt_install.sh
. "$root/test/apt_install.sh"
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"

# ---- builds ---------------------------------------------------------------------
jobs=$(nproc 2>/dev/null || echo 2)
builds=(dev tsan asan parking)
declare -A result
failed=0
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 exitcode=66"
export ASAN_OPTIONS="detect_leaks=1 abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1"

for b in "${builds[@]}"; do
  echo "== build '$b'"
  log="$root/build/$b.log"
  mkdir -p "$root/build"
  if ! cmake --preset "$b" >"$log" 2>&1 || ! cmake --build --preset "$b" -j "$jobs" >>"$log" 2>&1; then
    tail -40 "$log"
    result[$b]="BUILD FAILED (see build/$b.log)"
    failed=1
    continue
  fi
  # Serial: the threaded tests are CPU-heavy on 2 cores.  The verdict is
  # ctest's own exit status and its final summary line (a test's output
  # could contain any text, so nothing else in the log is trusted).
  set +e
  ctest --preset "$b" -j1 2>&1 | tee "$root/build/$b.ctest.log" \
    | grep -E '^\s*[0-9]+/[0-9]+ Test|Failed|Error|WARNING: ThreadSanitizer|ERROR: AddressSanitizer|runtime error'
  ctest_rc=${PIPESTATUS[0]}
  set -e
  summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+$' \
              "$root/build/$b.ctest.log" | tail -1 || true)
  result[$b]="${summary:-no ctest summary}"
  if [ "$ctest_rc" -ne 0 ] || [[ $summary != "100% tests passed, 0 tests failed out of "* ]]; then
    failed=1
    [ "$ctest_rc" -ne 0 ] && result[$b]="${result[$b]} (ctest exit status $ctest_rc)"
    grep -E -A60 'The following tests FAILED|\*\*\*Failed|Output from' "$root/build/$b.ctest.log" | head -120 || true
  fi
done

# ---- reliability: TSan without annotations, fuzzers, spin model ---------------------
# (the short torture run and the TSan-annotation cases are ctest cases of the
# tsan build above, hence --skip-tsan)
echo "== reliability (tsan-noann build, fuzzers, model check)"
if bash test/run_reliability.sh --skip-tsan >"$root/build/reliability.log" 2>&1; then rrc=0; else rrc=$?; fi
sed -n '/== reliability summary/,$p' "$root/build/reliability.log"
builds+=(tsan-noann)
result[tsan-noann]=$(grep -E '^tsan-noann: .*tests passed' "$root/build/reliability.log" | tail -1 | sed 's/^tsan-noann: //' || true)
if [ "$rrc" -ne 0 ]; then
  failed=1
  [ -n "${result[tsan-noann]}" ] || result[tsan-noann]="FAILED (see build/reliability.log)"
  grep -E -A40 'FAILED|Output from|ThreadSanitizer|ERROR' "$root/build/reliability.log" | head -80 || true
fi

# ---- Windows: mingw-w64 cross build, the same tests under Wine --------------------
echo "== build 'windows' (mingw-w64 + Wine)"
if bash test/run_windows.sh >"$root/build/windows.log" 2>&1; then wrc=0; else wrc=$?; fi
grep -E 'Test +#|WINDOWS|FAILED|windows:' "$root/build/windows.log" || true
builds+=(windows)
result[windows]=$(grep -E '^windows: .*tests passed' "$root/build/windows.log" | tail -1 | sed 's/^windows: //' || true)
if [ "$wrc" -ne 0 ]; then
  failed=1
  [ -n "${result[windows]}" ] || result[windows]="FAILED (see build/windows.log)"
  tail -60 "$root/build/windows.log"
fi

# ---- mutation gate, quick subset: the tests must catch known bugs ---------------------
# (test/mutate/run.sh without --quick runs every mutation; see test/mutate/)
echo "== mutation gate (quick subset)"
if bash test/mutate/run.sh --quick >"$root/build/mutate.log" 2>&1; then mrc=0; else mrc=$?; fi
sed -n '/== mutation gate summary/,$p' "$root/build/mutate.log"
[ "$mrc" -eq 0 ] || tail -5 "$root/build/mutate.log"
builds+=(mutate)
result[mutate]=$(grep -E '^mutation gate: ' "$root/build/mutate.log" | tail -1 || true)
if [ "$mrc" -ne 0 ]; then
  failed=1
  [ -n "${result[mutate]}" ] || result[mutate]="FAILED (see build/mutate.log)"
  grep -E 'NOT CAUGHT|DOES NOT APPLY|does not build|FAILED' "$root/build/mutate.log" | head -40 || true
fi

echo
echo "== summary"
total_pass=0
total_fail=0
for b in "${builds[@]}"; do
  printf '%-11s %s\n' "$b:" "${result[$b]}"
  if [ "$b" = mutate ]; then
    [[ ${result[$b]} == "mutation gate: passed"* ]] || total_fail=$((total_fail + 1))
  elif [[ ${result[$b]} =~ ([0-9]+)%\ tests\ passed,\ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
    total_fail=$((total_fail + BASH_REMATCH[2]))
    total_pass=$((total_pass + BASH_REMATCH[3] - BASH_REMATCH[2]))
  else
    total_fail=$((total_fail + 1))
  fi
done
echo "ctest: $total_pass passed, $total_fail failed"
exit $(( failed || total_fail > 0 ))
