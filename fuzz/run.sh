#!/usr/bin/env bash
# Runs one fuzz target for a fixed time: fuzz/run.sh <build dir> <target> <seconds> [libFuzzer args]
# e.g. fuzz/run.sh build/fuzz lock 15.  New corpus entries go to a scratch
# directory (the committed seeds in fuzz/corpus/<target>/ stay as they are);
# crashes are written to ./crash-* and fail the run.  Prints the exec count.
set -euo pipefail
build=$1 target=$2 secs=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1 abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1 print_stacktrace=1}"
log="$scratch/log"         # not in the corpus directory below
mkdir "$scratch/corpus"
if ! "$build/fuzz/fuzz_$target" -max_total_time="$secs" -timeout=30 -print_final_stats=1 \
     "$@" "$scratch/corpus" "$here/corpus/$target" >"$log" 2>&1; then
  tail -60 "$log"
  echo "fuzz_$target: FAILED"
  exit 1
fi
execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1)
if ! [[ $execs =~ ^[0-9]+$ ]] || [ "$execs" -eq 0 ]; then
  tail -20 "$log"
  echo "fuzz_$target: FAILED: no execution count (${execs:-none}) in libFuzzer's final stats"
  exit 1
fi
echo "fuzz_$target: ${execs} executions in ${secs} s, no failure"
