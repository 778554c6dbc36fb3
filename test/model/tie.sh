#!/usr/bin/env bash
# Ties the models to the code.  Lock: the state-word constants of
# src/internal/lock_word.h and test/model/lock.pml must be equal, and the
# transition steps the C code
# tags ("[name]" in its comments) must be exactly the steps the model tags
# ("/* step: name */").  Barrier: the state-word constants of
# src/internal/barrier_word.h and test/model/barrier.pml must have equal values (GEN_MASK the same
# expression), and the functions barrier.c defines must be exactly the ones
# the model tags ("/* fn: name ... */") plus its "not-modelled:" line.
# GIL: the same for src/internal/gil.h, src/gil.c and test/model/gil.pml.
# RLock: its region word against rlock_owner.pml, its process word through
# the Lock's word calls.  Future: the word's values against future.pml.
# Changing one side without the other fails.
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

# RLock: inside a region its word is the three-state one of rlock_owner.pml
# (S_UNLOCKED/S_LOCKED/S_PARKED in src/rlock.c, the model's UNLOCKED/
# LOCKED/PARKED); in process memory it must take, wait for and free its word
# through the Lock's word calls (internal/lock.h), the protocol lock.pml
# checks, and nothing of its own.
rstatus=0
rm=$root/test/model/rlock_owner.pml
rc=$root/src/rlock.c
renum=$(sed -nE 's/^enum \{ (S_UNLOCKED = [0-9]+, S_LOCKED = [0-9]+, S_PARKED = [0-9]+) \};.*/\1/p' "$rc")
for k in UNLOCKED LOCKED PARKED; do
  cv=$(echo "$renum" | grep -oE "S_$k = [0-9]+" | grep -oE '[0-9]+$' || true)
  mv=$(sed -nE "s/^#define $k +([0-9]+).*/\1/p" "$rm")
  if [ -z "$cv" ] || [ "$cv" != "$mv" ]; then
    echo "tie: $k is '${cv:-missing}' in src/rlock.c (S_$k) but '${mv:-missing}' in rlock_owner.pml"; rstatus=1
  fi
done
for f in ct__lockword_try ct__lockword_acquire_slow ct__lockword_release_fast; do
  grep -q "$f(" "$rc" || { echo "tie: src/rlock.c does not call $f"; rstatus=1; }
done
[ $rstatus = 0 ] && echo "tie: rlock.c, rlock_owner.pml (region word) and internal/lock.h (process word) agree"
[ $rstatus = 0 ] || status=1

# Future: the word's values in src/internal/executor.h and future.pml.
fstatus=0
fh=$root/src/internal/executor.h
fm=$root/test/model/future.pml
for k in PENDING RUNNING COMPLETING FINISHED CLOSING STATE_MASK WAITERS CALLBACKS; do
  ce=$(sed -nE "s/^#define CT__FUTURE_$k +UINT32_C\(([0-9a-fx]+)\).*/\1/p" "$fh")
  me=$(sed -nE "s/^#define $k +([0-9]+).*/\1/p" "$fm")
  cv=; [ -n "$ce" ] && cv=$(( ce ))
  if [ -z "$cv" ] || [ "$cv" != "$me" ]; then
    echo "tie: CT__FUTURE_$k is '${ce:-missing}' in src/internal/executor.h but '${me:-missing}' in future.pml"; fstatus=1
  fi
done
[ $fstatus = 0 ] && echo "tie: internal/executor.h and future.pml agree (the future word)"
[ $fstatus = 0 ] || status=1

bstatus=0
bc=$root/src/barrier.c
bbits=$root/src/internal/barrier_word.h
bm=$root/test/model/barrier.pml
# The #define's value, comments dropped, UINT32_C(x) -> x.
defval() { sed -nE "s/^#define $1 +(.*)$/\1/p" "$2" | sed -E 's|/\*.*\*/||g; s/UINT32_C\(([^)]*)\)/\1/g; s/ +$//'; }
for k in COUNT_MASK PARKED FILLING RESETTING BROKEN PHASE_MASK GEN_ONE; do
  ce=$(defval $k "$bbits"); me=$(defval $k "$bm")
  cv=; mv=
  [ -n "$ce" ] && cv=$(( ce ))
  [ -n "$me" ] && mv=$(( me ))
  if [ -z "$cv" ] || [ "$cv" != "$mv" ]; then
    echo "tie: $k is '${ce:-missing}' in src/internal/barrier_word.h but '${me:-missing}' in barrier.pml"; bstatus=1
  fi
done
ce=$(defval GEN_MASK "$bbits" | tr -d ' '); me=$(defval GEN_MASK "$bm" | tr -d ' ')
[ -n "$ce" ] && [ "$ce" = "$me" ] || { echo "tie: GEN_MASK '${ce:-?}' (C) vs '${me:-?}' (model)"; bstatus=1; }
# Function definitions: at column 0, a name followed by "(", no ";" or "=".
cfns=$(grep -E '^[A-Za-z_][^=;]*[ *][a-z_][a-z0-9_]*\(' "$bc" | grep -vE '^(#|_Static_assert)|;[[:space:]]*$' |
       sed -E 's/\(.*//' | grep -oE '[a-z_][a-z0-9_]*$' | sort -u)
mfns=$( { grep -oE '/\* fn: [a-z_][a-z0-9_ ]*' "$bm" | sed 's|^/\* fn: ||';
          sed -n 's/^ \* not-modelled: *//p' "$bm"; } | tr ' ' '\n' | grep -v '^$' | sort -u)
if [ -z "$cfns" ] || [ "$cfns" != "$mfns" ]; then
  echo "tie: barrier functions differ (< src/barrier.c, > barrier.pml)"
  diff <(echo "$cfns") <(echo "$mfns") | sed 's/^/  /' || true
  bstatus=1
fi
[ $bstatus = 0 ] && echo "tie: barrier_word.h, barrier.c and barrier.pml agree ($(echo $cfns | wc -w) functions)"
[ $bstatus = 0 ] || status=1

# GIL: the state-word bits of src/internal/gil.h, the node words and drop
# requests of src/gil.c's enums, and gil.c's functions (tagged "/* fn: */"
# in gil.pml or on its "not-modelled:" lines) must match test/model/gil.pml.
gstatus=0
gc=$root/src/gil.c
gbits=$root/src/internal/gil.h
gm=$root/test/model/gil.pml
for k in LOCKED QUEUED; do
  cv=$(sed -nE "s/^#define CT__GIL_$k +UINT32_C\(([0-9]+)\).*/\1/p" "$gbits")
  mv=$(sed -nE "s/^#define $k +([0-9]+).*/\1/p" "$gm")
  if [ -z "$cv" ] || [ "$cv" != "$mv" ]; then
    echo "tie: CT__GIL_$k is '${cv:-missing}' in src/internal/gil.h but '${mv:-missing}' in gil.pml"; gstatus=1
  fi
done
for k in WAITING SIGNALLED PARKED DROP_NONE DROP_NOW DROP_WAKING; do
  cv=$(grep -E '^enum \{' "$gc" | grep -oE "\b$k = [0-9]+u" | grep -oE '[0-9]+' | head -1)
  mv=$(sed -nE "s/^#define $k +([0-9]+).*/\1/p" "$gm")
  if [ -z "$cv" ] || [ "$cv" != "$mv" ]; then
    echo "tie: $k is '${cv:-missing}' in src/gil.c but '${mv:-missing}' in gil.pml"; gstatus=1
  fi
done
cfns=$(grep -E '^[A-Za-z_][^=;]*[ *][a-z_][a-z0-9_]*\(' "$gc" | grep -vE '^(#|_Static_assert)|;[[:space:]]*$' |
       sed -E 's/\(.*//' | grep -oE '[a-z_][a-z0-9_]*$' | sort -u)
mfns=$( { grep -oE '/\* fn: [a-z_][a-z0-9_ ]*' "$gm" | sed 's|^/\* fn: ||';
          awk '/^ \* not-modelled:/ { sub(/^ \* not-modelled: */, ""); print; on = 1; next }
               on && /^ \*   / { sub(/^ \*   */, ""); print; next } { on = 0 }' "$gm"; } |
        tr ' ' '\n' | grep -v '^$' | sort -u)
if [ -z "$cfns" ] || [ "$cfns" != "$mfns" ]; then
  echo "tie: GIL functions differ (< src/gil.c, > gil.pml)"
  diff <(echo "$cfns") <(echo "$mfns") | sed 's/^/  /' || true
  gstatus=1
fi
[ $gstatus = 0 ] && echo "tie: internal/gil.h, gil.c and gil.pml agree ($(echo $cfns | wc -w) functions)"
[ $gstatus = 0 ] || status=1
exit $status
