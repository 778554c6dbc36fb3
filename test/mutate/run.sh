#!/usr/bin/env bash
# The mutation gate: do the tests catch what they claim?
#
#   test/mutate/run.sh [--quick] [--only ID[,ID...]] [--no-baseline] [--keep] [--list]
#
# test/mutate/manifest lists the mutations: one small patch each
# (test/mutate/<id>.patch, a unified diff against src/), the build it needs
# (a preset: dev, tsan, ...), a time limit in seconds, whether it belongs to
# the quick subset, and the ctest tests that must catch it.  For every
# mutation this script
#   1. works in a scratch copy of the tree (without build/ and .git), one per
#      preset, configured once and built once with every target the
#      mutations of that preset need (so each mutation recompiles one file),
#   2. applies the patch, context exact (one that does not apply FAILS the gate: the
#      mutation went stale, which says nothing about the tests),
#   3. rebuilds the targets of the named tests (a mutated tree that does not
#      compile also FAILS the gate),
#   4. runs each named test alone under `timeout` with the time limit, and
#      counts the mutation CAUGHT only if every named test failed, crashed or
#      ran out of time,
#   5. reverts the patch and checks the patched files are byte for byte the
#      worktree's again (else the copy is made afresh).
# The gate passes only if every mutation was caught.  Unless --no-baseline
# (or --quick, whose caller ran the suite already), the named tests are first
# built and run on the unpatched tree, where they must all pass: a test that
# fails anyway proves nothing.
#
# --quick runs the mutations marked "quick" (well under 5 minutes: the test
# command, test/run_all.sh, ends with it), each against the FIRST of its
# named tests only (the one that must catch it fastest); the full gate runs
# and requires them all.  The scratch directory is
# $CT_MUTATE_DIR or a fresh one under /tmp, removed at the end unless --keep.
#
# SPDX-License-Identifier: MIT
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
manifest=$here/manifest

quick=0
baseline=1
keep=0
only=""
list=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; baseline=0 ;;
    --no-baseline) baseline=0 ;;
    --baseline) baseline=1 ;;
    --keep) keep=1 ;;
    --only) only=",$2,"; shift ;;
    --list) list=1 ;;
    *) echo "usage: $0 [--quick] [--only ID[,ID...]] [--no-baseline] [--keep] [--list]" >&2
       exit 2 ;;
  esac
  shift
done

jobs=${CT_MUTATE_JOBS:-2}
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 exitcode=66"
export ASAN_OPTIONS="detect_leaks=1 abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1"

# ---- the manifest ---------------------------------------------------------------------
ids=() ; declare -A m_build m_limit m_quick m_tests
while read -r id build limit q tests; do
  case "$id" in ''|'#'*) continue ;; esac
  if [ -z "$tests" ] || ! [[ $limit =~ ^[0-9]+$ ]] || { [ "$q" != quick ] && [ "$q" != full ]; }; then
    echo "mutate: bad manifest line: $id $build $limit $q $tests" >&2
    exit 2
  fi
  [ $quick -eq 1 ] && [ "$q" != quick ] && continue
  [ -n "$only" ] && [[ $only != *",$id,"* ]] && continue
  [ $quick -eq 1 ] && tests=${tests%% *}
  ids+=("$id"); m_build[$id]=$build; m_limit[$id]=$limit; m_quick[$id]=$q; m_tests[$id]=$tests
done < "$manifest"

# Every patch is in the manifest and every manifest entry has its patch.
for p in "$here"/*.patch; do
  id=$(basename "$p" .patch)
  grep -qE "^$id[[:space:]]" "$manifest" || { echo "mutate: $p is not in the manifest" >&2; exit 2; }
done

if [ $list -eq 1 ]; then
  for id in "${ids[@]}"; do
    printf '%-36s %-5s %4ss %-5s %s\n' "$id" "${m_build[$id]}" "${m_limit[$id]}" \
      "${m_quick[$id]}" "${m_tests[$id]}"
  done
  exit 0
fi
[ ${#ids[@]} -gt 0 ] || { echo "mutate: no mutation selected" >&2; exit 2; }

if [ -n "${CT_MUTATE_DIR:-}" ]; then
  scratch=$CT_MUTATE_DIR
  mkdir -p "$scratch"
else
  scratch=$(mktemp -d /tmp/ct-mutate.XXXXXX)
fi
cleanup() { [ $keep -eq 1 ] || rm -rf "$scratch"; }
trap cleanup EXIT

# The build target that holds a ctest test: torture_* are runs of `torture`.
target_of() {
  case "$1" in
    torture_*) echo torture ;;
    *) echo "$1" ;;
  esac
}

# copy_tree DIR: a pristine copy of the worktree's sources in DIR.
copy_tree() {
  rm -rf "$1"
  mkdir -p "$1"
  tar -C "$root" --exclude=./build --exclude=./.git --exclude=./.cache -cf - . \
    | tar -C "$1" -xf - || { echo "mutate: cannot copy the tree to $1" >&2; exit 2; }
}

# targets_of TESTS... -> the distinct build targets.
targets_of() {
  local targets=() t
  for t in "$@"; do
    t=$(target_of "$t")
    [[ " ${targets[*]} " == *" $t "* ]] || targets+=("$t")
  done
  echo "${targets[@]}"
}

# configure_tree DIR PRESET -> 0 if configured.
configure_tree() {
  (cd "$1" && cmake --preset "$2") >"$1/mutate-configure.log" 2>&1
}

# build_targets DIR PRESET TESTS... -> 0 if the targets built.
build_targets() {
  local dir=$1 preset=$2; shift 2
  local targets
  read -r -a targets <<<"$(targets_of "$@")"
  (cd "$dir" && cmake --build --preset "$preset" -j "$jobs" --target "${targets[@]}") \
    >"$dir/mutate-build.log" 2>&1
}

# patched_files PATCH -> the paths it changes (relative to the tree).
patched_files() {
  sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$1" | sort -u
}

# run_test DIR PRESET TEST LIMIT -> prints passed|failed|timeout|missing
run_test() {
  local dir=$1 preset=$2 t=$3 limit=$4 bdir=$1/build/$2 rc n
  n=$(ctest --test-dir "$bdir" -N -R "^${t}\$" 2>/dev/null | sed -n 's/^Total Tests: //p')
  if [ "$n" != 1 ]; then
    echo missing
    return
  fi
  timeout -k 10 "$limit" ctest --test-dir "$bdir" -R "^${t}\$" --output-on-failure \
    >"$dir/mutate-$t.log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then echo passed
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then echo timeout
  else echo failed
  fi
}

gate_failed=0
t_start=$(date +%s)

# ---- one scratch tree per preset, configured and built once ---------------------------
declare -A tree_ok preset_tests
for id in "${ids[@]}"; do
  preset_tests[${m_build[$id]}]="${preset_tests[${m_build[$id]}]:-} ${m_tests[$id]}"
done
for b in "${!preset_tests[@]}"; do
  dir=$scratch/tree-$b
  read -r -a tl <<<"$(tr ' ' '\n' <<<"${preset_tests[$b]}" | sort -u | tr '\n' ' ')"
  preset_tests[$b]="${tl[*]}"
  echo "== preparing $b: $(targets_of "${tl[@]}")"
  copy_tree "$dir"
  if ! configure_tree "$dir" "$b" || ! build_targets "$dir" "$b" "${tl[@]}"; then
    tail -30 "$dir/mutate-configure.log" "$dir/mutate-build.log" 2>/dev/null
    echo "mutate: FAILED: the unpatched tree does not configure or build ($b)"
    gate_failed=1
    continue
  fi
  tree_ok[$b]=1
  # Baseline: the named tests pass on the unpatched tree.
  if [ $baseline -eq 1 ]; then
    for t in "${tl[@]}"; do
      r=$(run_test "$dir" "$b" "$t" 900)
      echo "   baseline $t: $r"
      if [ "$r" != passed ]; then
        [ -f "$dir/mutate-$t.log" ] && tail -30 "$dir/mutate-$t.log"
        echo "mutate: FAILED: $t does not pass on the unpatched tree ($b): it catches nothing"
        gate_failed=1
      fi
    done
  fi
done
[ $gate_failed -eq 0 ] || { echo "mutation gate: FAILED (unpatched tree)"; exit 1; }

# ---- the mutations ------------------------------------------------------------------------
declare -A verdict
caught=0
for id in "${ids[@]}"; do
  b=${m_build[$id]} limit=${m_limit[$id]} patchf=$here/$id.patch dir=$scratch/tree-${m_build[$id]}
  read -r -a tl <<<"${m_tests[$id]}"
  t0=$(date +%s)
  echo "== $id ($b, ${limit}s): ${tl[*]}"
  if [ ! -f "$patchf" ]; then
    verdict[$id]="FAILED: no patch $id.patch"
    echo "   ${verdict[$id]}"; gate_failed=1; continue
  fi
  if ! (cd "$dir" && patch -p1 --forward --batch --fuzz=0 --no-backup-if-mismatch --dry-run <"$patchf") \
      >"$dir/mutate-patch.log" 2>&1; then
    sed 's/^/   | /' "$dir/mutate-patch.log"
    verdict[$id]="FAILED: $id.patch DOES NOT APPLY to the current tree (rewrite the mutation)"
    echo "   ${verdict[$id]}"; gate_failed=1; continue
  fi
  (cd "$dir" && patch -p1 --forward --batch --fuzz=0 --no-backup-if-mismatch -s <"$patchf")
  if ! build_targets "$dir" "$b" "${tl[@]}"; then
    grep -E 'error|Error' "$dir/mutate-build.log" | head -10 | sed 's/^/   | /'
    verdict[$id]="FAILED: the mutated tree does not build"
    echo "   ${verdict[$id]}"; gate_failed=1
  else
    all=1 how=""
    for t in "${tl[@]}"; do
      r=$(run_test "$dir" "$b" "$t" "$limit")
      echo "   $t: $r"
      case "$r" in
        failed|timeout) how+="${how:+, }$t $r" ;;
        missing) all=0; how+="${how:+, }$t NOT REGISTERED" ;;
        *) all=0; how+="${how:+, }$t passed" ;;
      esac
    done
    dt=$(( $(date +%s) - t0 ))
    if [ $all -eq 1 ]; then
      caught=$((caught + 1))
      verdict[$id]="caught (${how}) ${dt}s"
    else
      verdict[$id]="NOT CAUGHT (${how}) ${dt}s"
      gate_failed=1
      for t in "${tl[@]}"; do
        [ -f "$dir/mutate-$t.log" ] && tail -5 "$dir/mutate-$t.log" | sed "s/^/   $t | /"
      done
    fi
    echo "   ${verdict[$id]}"
  fi
  # Back to the pristine sources (patch -R leaves them newer than their
  # objects, so the next build recompiles them).
  (cd "$dir" && patch -p1 -R --batch --no-backup-if-mismatch -s <"$patchf") || true
  while read -r f; do
    if ! cmp -s "$root/$f" "$dir/$f"; then
      echo "   (reverting $id left $f changed: copying the tree afresh)"
      copy_tree "$dir"
      configure_tree "$dir" "$b" || { echo "mutate: cannot reconfigure $b"; exit 2; }
      break
    fi
  done < <(patched_files "$patchf")
done

echo
echo "== mutation gate summary ($([ $quick -eq 1 ] && echo quick || echo full))"
for id in "${ids[@]}"; do
  printf '%-36s %s\n' "$id" "${verdict[$id]:-not run}"
done
total=$(( $(date +%s) - t_start ))
if [ $gate_failed -eq 0 ]; then
  echo "mutation gate: passed: $caught of ${#ids[@]} mutations caught in ${total}s"
  exit 0
fi
echo "mutation gate: FAILED: $caught of ${#ids[@]} mutations caught in ${total}s"
exit 1
