#!/usr/bin/env bash
# The reliability part of the README's test command (called by
# test/run_all.sh, or on its own):
#   1. TSan build with the lock annotations: the short torture run (~20 s,
#      16 threads, signal storm) and the TSan-annotation cases (programs that
#      must make TSan report a lock-order inversion / an unlock of an unlocked
#      Lock / a race, and clean ones that must not);
#   2. TSan build WITHOUT the annotations (they add happens-before edges of
#      their own that could hide an ordering bug inside a primitive): the
#      whole test suite, the torture run and the cases that apply;
#   3. every libFuzzer target for a short fixed time: 6 s for lock, wait,
#      thread and multi, 4 s for each other primitive's model fuzzer (about
#      a minute in all); FUZZ_SECONDS=N runs every target N s instead;
#   4. the spin model check of the Lock and Barrier word + wait protocols.
# Installs spin / clang / libclang-rt-14-dev with apt-get if missing.
# Options: --skip-tsan (step 1 already ran as part of run_all.sh's tsan ctest).
# Build trees go to $CT_BUILD_ROOT/<preset> (default: build/ in the checkout).
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
fuzz_seconds=${FUZZ_SECONDS:-}   # empty: 6 s / 4 s per target, see above
skip_tsan=0
[ "${1:-}" = "--skip-tsan" ] && skip_tsan=1

# ---- dependencies ---------------------------------------------------------------
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v clang >/dev/null || need+=(clang)
command -v spin >/dev/null || need+=(spin)
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 \
  || need+=(libclang-rt-14-dev)
# shellcheck source=test/apt_install.sh
. "$root/test/apt_install.sh"
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"

jobs=$(nproc 2>/dev/null || echo 2)
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 exitcode=66"
export ASAN_OPTIONS="detect_leaks=1 abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1"
broot=${CT_BUILD_ROOT:-$root/build}
mkdir -p "$broot"
declare -a summary
failed=0
start=$(date +%s)

build() {   # build <preset>
  local log="$broot/$1.log"
  if ! cmake --preset "$1" -B "$broot/$1" >"$log" 2>&1 ||
     ! cmake --build "$broot/$1" -j "$jobs" >>"$log" 2>&1; then
    tail -40 "$log"
    summary+=("$1: BUILD FAILED (see $log)")
    failed=1
    return 1
  fi
}

run_ctest() {   # run_ctest <preset> <label> [ctest args]
  local preset=$1 label=$2
  shift 2
  local log="$broot/$preset.reliability.log" rc
  # The verdict: ctest's exit status and its final summary line only.
  if ctest --test-dir "$broot/$preset" -j1 "$@" >"$log" 2>&1; then rc=0; else rc=$?; fi
  grep -E '^torture |Test +#' "$log" | grep -E 'torture|Failed|\*\*\*' || true
  local line
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+$' "$log" | tail -1 || true)
  local note=""
  [ "$rc" -eq 0 ] || note=" (ctest exit status $rc)"
  summary+=("$label: ${line:-no ctest summary}$note")
  if [ "$rc" -ne 0 ] || [[ $line != "100% tests passed, 0 tests failed out of "* ]]; then
    failed=1
    grep -E -B2 -A40 'Output from|FAIL torture|WARNING: ThreadSanitizer' "$log" | head -80 || true
  fi
}

# ---- 1. TSan with annotations ------------------------------------------------------------
if [ $skip_tsan = 0 ]; then
  echo "== tsan: short torture run + annotation cases"
  if build tsan; then
    run_ctest tsan "tsan torture+cases" -R '^(torture_short|tsan_)' --output-on-failure
  fi
fi

# ---- 2. TSan without annotations --------------------------------------------------------
echo "== tsan-noann: whole suite + torture, lock annotations compiled out"
if build tsan-noann; then
  run_ctest tsan-noann "tsan-noann" --output-on-failure
fi

# ---- 3. fuzzers ---------------------------------------------------------------------------
echo "== fuzz: ${fuzz_seconds:-6 or 4} s per target"
if build fuzz; then
  # Every fuzz_*.c must have been built and run, each with a real exec count.
  expected=$(find "$root/fuzz" -maxdepth 1 -name 'fuzz_*.c' | wc -l)
  ran=0
  for f in "$broot"/fuzz/fuzz/fuzz_*; do
    [ -x "$f" ] && [ -f "$f" ] || continue
    t=${f##*/fuzz_}
    secs=$fuzz_seconds
    if [ -z "$secs" ]; then
      case $t in lock|wait|thread|multi) secs=6 ;; *) secs=4 ;; esac
    fi
    ran=$((ran + 1))
    if out=$("$root/fuzz/run.sh" "$broot/fuzz" "$t" "$secs") &&
       [[ $out =~ :\ ([0-9]+)\ executions\ in ]] && [ "${BASH_REMATCH[1]}" -gt 0 ]; then
      echo "$out"
      summary+=("$out")
    else
      echo "$out"
      summary+=("fuzz_$t: FAILED (${out##*: })")
      failed=1
    fi
  done
  if [ "$ran" -ne "$expected" ]; then
    summary+=("fuzz: FAILED: $ran targets ran, fuzz/ has $expected")
    echo "fuzz: FAILED: $ran targets ran, fuzz/ has $expected"
    failed=1
  fi
fi

# ---- 4. model check ---------------------------------------------------------------------------
echo "== model check (spin)"
if "$root/test/model/check.sh"; then
  summary+=("model check: passed")
else
  summary+=("model check: FAILED")
  failed=1
fi

echo
echo "== reliability summary ($(( $(date +%s) - start )) s)"
printf '%s\n' "${summary[@]}"
exit $failed
