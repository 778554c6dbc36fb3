#!/usr/bin/env bash
# Ties the Lock model to the code: the state-word constants of
# src/internal/lock_word.h and test/model/lock.pml must be equal, and the transition steps the C code tags
# ("[name]" in its comments) must be exactly the steps the model tags
# ("/* step: name */").  Changing one side without the other fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
c=$root/src/lock.c
bits=$root/src/internal/lock_word.h
m=$root/test/model/lock.pml
status=0
for k in LOCKED WAKING HANDOFF STARVING ONE_SLEEPER; do
  mk=$k; [ $k = ONE_SLEEPER ] && mk=ONE
  cv=$(sed -nE "s/^#define $k +UINT32_C\(([0-9]+)\).*/\1/p" "$bits")
  mv=$(sed -nE "s/^#define $mk +([0-9]+).*/\1/p" "$m")
  if [ -z "$cv" ] || [ "$cv" != "$mv" ]; then
    echo "tie: $k is '${cv:-missing}' in src/internal/lock_word.h but '${mv:-missing}' in lock.pml"; status=1
  fi
done
# The shift of SLEEPERS must match ONE.
cs=$(sed -nE 's/^#define SLEEPERS\(s\) +\(\(s\) >> ([0-9]+)\).*/\1/p' "$bits")
ms=$(sed -nE 's/^#define SLEEPERS\(x\) +\(\(x\) >> ([0-9]+)\).*/\1/p' "$m")
[ -n "$cs" ] && [ "$cs" = "$ms" ] || { echo "tie: SLEEPERS shift '${cs:-?}' (C) vs '${ms:-?}' (model)"; status=1; }
csteps=$(grep -oE '\[(fast|spin|register|wait|deregister|release|wake|[a-z]+)\]' "$c" | tr -d '[]' | sort -u)
msteps=$(grep -oE '/\* step: [a-z]+' "$m" | awk '{print $3}' | sort -u)
if [ "$csteps" != "$msteps" ]; then
  echo "tie: steps differ"; diff <(echo "$csteps") <(echo "$msteps") | sed 's/^/  /' || true
  status=1
fi
[ $status = 0 ] && echo "tie: lock_word.h, lock.c and lock.pml agree ($(echo $csteps | wc -w) steps)"
exit $status
