#!/usr/bin/env bash
# Model check of the lock word + wait protocol (test/model/*.pml) with spin:
# every model must verify clean (N = 2 and 3 threads), and every variant named
# on its "must-fail:" line must be caught (proof that the check can fail).  Exits non-zero on any violation.
# Needs spin and gcc (Debian: apt-get install spin).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v spin >/dev/null || { echo "check.sh: spin not installed (apt-get install spin)"; exit 2; }
status=0

verify() {   # verify <model> <label> [spin -D flags]; prints spin's verdict, returns 1 on errors
  local model=$1 label=$2
  shift 2
  (cd "$work" && rm -f pan* ./*.trail &&
   spin "$@" -a "$here/$model" >/dev/null &&
   gcc -O2 -DSAFETY -o pan pan.c 2>/dev/null &&
   ./pan -m100000 >"$work/out" 2>&1) || true
  local errors states
  errors=$(grep -oE 'errors: [0-9]+' "$work/out" | awk '{print $2}')
  states=$(grep -oE '[0-9]+ states, stored' "$work/out" | awk '{print $1}')
  echo "  $label: errors=${errors:-?} states=${states:-?}"
  [ "${errors:-1}" = 0 ]
}

for m in "$here"/*.pml; do
  name=$(basename "$m")
  echo "== $name"
  for n in 2 3; do
    if ! verify "$name" "N=$n" -DN=$n; then
      grep -E 'assertion violated|invalid end state' "$work/out" | head -3
      status=1
    fi
  done
  # Variants listed on a "must-fail:" line model known bugs: each must be caught.
  for v in $(sed -n 's/^ \* must-fail: *//p' "$m"); do
    if verify "$name" "-D$v N=3 (must fail)" -D"$v" -DN=3; then
      echo "  variant $v was NOT caught: the model would miss that bug"
      status=1
    else
      echo "  caught as expected: $(grep -oE 'assertion violated.*|invalid end state.*' "$work/out" | head -1)"
    fi
  done
done
[ $status = 0 ] && echo "model check passed" || echo "model check FAILED"
exit $status
