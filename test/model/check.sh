#!/usr/bin/env bash
# Model check of the Lock and Barrier state-word + wait protocols, the
# shared Condition queue, the RLock take-over from a dead process, the
# Executor's hand-off to idle workers, a Future's completion against done callbacks,
# the GIL and the Semaphore (test/model/lock.pml, barrier.pml, cond_shared.pml,
# rlock_owner.pml, executor_idle.pml, future.pml, gil.pml, sem.pml: every
# test/model/*.pml) with spin.
#
# For every model:
#   - safety run (asserts + invalid end states) for N = 2 and 3 threads: must
#     verify clean;
#   - liveness run (-DLIVE: the model's ltl formula, acceptance cycles under
#     weak fairness) for N = 2 (also N = 3 with --full), and again with each
#     flag set on the model's "liveness-also:" line: must verify clean;
#   - the model's "variant-base:" flags (if any) must verify clean at N = 3,
#     and are added to every variant run below;
#   - every variant on its "must-fail:" line must be caught at N = 3 (proof that
#     the check can fail): first by the safety run, else (models with an ltl
#     formula) by the liveness run with -a -f (a livelock is no safety error);
#     variants on a "must-fail-live:" line go straight to the liveness run.
#     "Caught" means spin ran to the end and reported a numeric error count
#     of at least 1 with a verdict (assertion violated, invalid end state,
#     acceptance cycle); a variant that does not compile or a search cut
#     short is a FAILURE of the check, not a catch;
#   - with --full, every variant on its "must-pass:" line must verify clean at
#     N = 3 (variants the algorithm is meant to tolerate).
# Exits non-zero on any violation (or a search cut short by the depth limit).
# Needs spin and gcc (Debian: apt-get install spin).  About 1.5 min (2 loaded
# cores; ~45 s of CPU, about half of it the Barrier model; cond_shared.pml
# adds ~5 s, rlock_owner.pml and executor_idle.pml ~3 s each, future.pml ~2 s, gil.pml ~30 s,
# sem.pml ~3 s);
# --full about 12 min.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v spin >/dev/null || { echo "check.sh: spin not installed (apt-get install spin)"; exit 2; }
full=0
[ "${1:-}" = --full ] && full=1
status=0
last_errors=?

# verify <model> <label> <safety|live> [spin -D flags]; prints spin's verdict,
# returns 1 on errors (or when the search was cut short).  Compiling pan.c
# takes ~3 s at -O2 and ~0.7 s at -O0, which runs ~3x slower: OPT=-O0 for the
# small searches (N=2, variants expected to fail at once).
verify() {
  local model=$1 label=$2 mode=$3 cflags="${OPT:--O2} -DSAFETY" runflags=
  shift 3
  [ "$mode" = live ] && { cflags=${OPT:--O2}; runflags="-a -f"; }
  : >"$work/out"
  (cd "$work" && rm -f pan* ./*.trail &&
   spin "$@" -a "$here/$model" >/dev/null &&
   gcc $cflags -o pan pan.c 2>/dev/null &&
   ./pan -m100000 $runflags >"$work/out" 2>&1) || true
  local errors states
  errors=$(grep -oE 'errors: [0-9]+' "$work/out" | awk '{print $2}' | tail -1)
  states=$(grep -oE '[0-9.e+]+ states, stored' "$work/out" | awk '{print $1}')
  if grep -q 'max search depth too small' "$work/out"; then errors="${errors:-0}+depth-limit"; fi
  echo "  $label: errors=${errors:-?} states=${states:-?}"
  last_errors=${errors:-?}
  [ "${errors:-1}" = 0 ]
}

verdict() { grep -oE 'assertion violated.*|invalid end state.*|acceptance cycle.*' "$work/out" | head -1; }

# After a verify that returned non-zero: did spin really find the bug?  A
# numeric error count >= 1 and a verdict line; anything else (no pan, a
# compile error, a depth limit) is not a catch.
really_caught() {
  [[ $last_errors =~ ^[0-9]+$ ]] && [ "$last_errors" -ge 1 ] && [ -n "$(verdict)" ]
}

# must_fail <model> <variant> <safety|live> -> 0 if caught, else explains.
must_fail() {
  local name=$1 v=$2 mode=$3 live_flags=()
  [ "$mode" = live ] && live_flags=(-DLIVE)
  if OPT=-O0 verify "$name" "-D$v ${base[*]} N=3 $mode (must fail)" "$mode" "${base[@]}" \
       -D"$v" "${live_flags[@]}" -DN=3; then
    return 1
  fi
  if really_caught; then
    echo "    caught as expected: $(verdict)"
    return 0
  fi
  echo "    variant $v ($mode) did not run to a verdict (errors=$last_errors): not a catch"
  tail -5 "$work/out" | sed 's/^/    | /'
  return 1
}

# The models and src/lock.c, src/internal/lock_word.h, src/barrier.c and
# src/internal/barrier_word.h must agree on constants and steps.
bash "$here/tie.sh" || status=1

for m in "$here"/*.pml; do
  name=$(basename "$m")
  echo "== $name"
  # Safety searches: the model's "checks:" line (flag sets separated by |),
  # plus its "checks-full:" line with --full; default N=2 and N=3.
  checks=$(sed -n 's/^ \* checks: *//p' "$m")
  [ -n "$checks" ] || checks="-DN=2 | -DN=3"
  if [ $full = 1 ]; then
    more=$(sed -n 's/^ \* checks-full: *//p' "$m")
    [ -z "$more" ] || checks="$checks | $more"
  fi
  IFS='|' read -r -a check_sets <<<"$checks"
  for set in "${check_sets[@]}"; do
    read -r -a flags <<<"$set"
    opt=-O2; [[ " ${flags[*]} " == *" -DN=2 "* ]] && opt=-O0
    OPT=$opt verify "$name" "safety ${flags[*]}" safety "${flags[@]}" || { echo "    $(verdict)"; status=1; }
  done
  lives=2
  [ $full = 1 ] && lives="2 3"
  if grep -q '^ *ltl' "$m"; then
    for n in $lives; do
      opt=-O2; [ $n = 2 ] && opt=-O0
      OPT=$opt verify "$name" "liveness N=$n" live -DN=$n -DLIVE || { echo "    $(verdict)"; status=1; }
      # The model's "liveness-also:" flag sets (| separated): the same run
      # with each (another mode of the same protocol, say).
      also=$(sed -n 's/^ \* liveness-also: *//p' "$m")
      if [ -n "$also" ]; then
        IFS='|' read -r -a also_sets <<<"$also"
        for set in "${also_sets[@]}"; do
          read -r -a flags <<<"$set"
          OPT=$opt verify "$name" "liveness N=$n ${flags[*]}" live -DN=$n -DLIVE "${flags[@]}" ||
            { echo "    $(verdict)"; status=1; }
        done
      fi
    done
  fi
  base=()
  for b in $(sed -n 's/^ \* variant-base: *//p' "$m"); do base+=("-D$b"); done
  if [ ${#base[@]} -gt 0 ]; then
    verify "$name" "${base[*]} N=3 (variant base, must pass)" safety "${base[@]}" -DN=3 ||
      { echo "    $(verdict)"; status=1; }
    if [ $full = 1 ] && grep -q '^ *ltl' "$m"; then
      verify "$name" "${base[*]} liveness N=3 (variant base, must pass)" live "${base[@]}" -DN=3 -DLIVE ||
        { echo "    $(verdict)"; status=1; }
    fi
  fi
  # Variants listed on a "must-fail:" line model known bugs: each must be
  # caught, by the safety run or (a livelock) by the liveness run.
  has_ltl=0
  grep -q '^ *ltl' "$m" && has_ltl=1
  for v in $(sed -n 's/^ \* must-fail: *//p' "$m"); do
    if must_fail "$name" "$v" safety; then continue; fi
    if [ $has_ltl = 1 ] && must_fail "$name" "$v" live; then continue; fi
    echo "    variant $v was NOT caught: the model would miss that bug"
    status=1
  done
  for v in $(sed -n 's/^ \* must-fail-live: *//p' "$m"); do
    if [ $has_ltl = 1 ] && must_fail "$name" "$v" live; then continue; fi
    echo "    variant $v was NOT caught by the liveness run: the model would miss that bug"
    status=1
  done
  if [ $full = 1 ]; then
    for v in $(sed -n 's/^ \* must-pass: *//p' "$m"); do
      verify "$name" "-D$v ${base[*]} N=3 ITER=1 (must pass)" safety "${base[@]}" -D"$v" -DN=3 -DITER=1 ||
        { echo "    $(verdict)"; status=1; }
    done
  fi
done
[ $status = 0 ] && echo "model check passed" || echo "model check FAILED"
exit $status
