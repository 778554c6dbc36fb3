/* Promela model of Lock (src/lock.c) over the wait layer (futex semantics).
 *
 * The lock word w, as in src/lock.c: bit 0 LOCKED, bit 1 WAKING, bits 2.. the
 * SLEEPERS count (ONE = 4).  Every atomic read-modify-write of the C code is
 * one atomic step here; every plain load is a step of its own, so a CAS may
 * fail and, like atomic_compare_exchange, reload its expected value s.
 *
 *   acquire:  fast: atomic OR of LOCKED, took it if LOCKED was clear (since
 *             the second round; round one's CAS 0 -> LOCKED is a special
 *             case of it); else acquire_slow:
 *     spin_acquire  SPIN rounds: load s; if !LOCKED, CAS s -> s|LOCKED (done);
 *                   (also while others sleep: round two dropped the
 *                   give-up when SLEEPERS(s) != 0)
 *     register      load s; loop: !LOCKED -> CAS s|LOCKED (done),
 *                   else CAS s -> s+ONE (registered, s += ONE)
 *     wait          do rc = wait(w, s); s = load
 *                   while rc == OK && (s & (LOCKED|WAKING)) == LOCKED
 *     deregister    CAS s -> (s-ONE) & ~WAKING, | LOCKED if !(s & LOCKED)
 *                   (took it: done)
 *     then          rc == ETIMEDOUT or deadline passed: give up (timed out),
 *                   else back to spin_acquire
 *   release:  load s; CAS s -> s & ~LOCKED (a holder never sees !LOCKED:
 *             asserted, that is the CT_EPERM path); if SLEEPERS(s) != 0,
 *             wake_sleeper(s & ~LOCKED): while SLEEPERS(s) != 0 &&
 *             !(s & (LOCKED|WAKING)): CAS s -> s|WAKING, then wake_one.
 *
 * Direct hand-off (second round, HANDOFF = 4 and STARVING = 8, ONE = 16):
 *     register      a thread that has waited long enough ("starved": a free
 *                   choice here, the clock being unmodelled) ORs STARVING in
 *     deregister    take the lock if HANDOFF is set (clear HANDOFF, keep
 *                   LOCKED) or LOCKED is clear; a starved taker clears
 *                   STARVING, and so does the step that leaves 0 sleepers
 *     release       STARVING with sleepers: keep LOCKED, set HANDOFF|WAKING,
 *                   wake one unless WAKING was already set; else as above
 *   Extra checks: a holder's release never sees HANDOFF; HANDOFF is only ever
 *   set with WAKING; STARVING implies a registered sleeper (checked in the
 *   critical section); the word is 0 at the end.
 *
 * The wait layer (ct__wait_until / ct_wake_one), futex semantics:
 *   - the comparison with the expected value and going to sleep are one
 *     atomic step, and so is a wake: a wake_one after the sleeper's
 *     comparison finds it asleep;
 *   - wake_one dequeues one sleeper of the word, if any (any one: spin tries
 *     every choice);
 *   - a woken sleeper returns OK; a timed wait may instead time out at any
 *     moment while it sleeps (or before it compares: deadline already
 *     passed), and the timeout dequeues it in the same atomic step, so a
 *     timed-out sleeper was not chosen by a wake;
 *   - a wait may also return OK spuriously (the contract allows it): SPURIOUS
 *     such returns in all, a budget, so that a lost wake-up is not masked by
 *     an endless supply of spurious wake-ups.
 *
 * Threads: N threads each do ITER rounds of acquire / critical section /
 * release.  Thread 0 always uses the untimed acquire; the others choose per
 * round between untimed and timed (the timeout may fire at any moment, and
 * "deadline passed" may be seen after any OK return).  A timed acquire that
 * gives up does not enter the critical section.
 *
 * Checked (safety run, spin -DSAFETY; every interleaving):
 *   - mutual exclusion: at most one thread in the critical section;
 *   - a holder's release always finds LOCKED (never CT_EPERM);
 *   - SLEEPERS never underflows (asserted at every deregistration) and always
 *     equals the number of registered threads (ghost counter reg);
 *   - at the end (all threads done) the word is 0: no sleepers, no WAKING;
 *   - no lost wake-up / no deadlock: a thread asleep with nobody left to wake
 *     it is an invalid end state (thread 0 never times out, and spurious
 *     wake-ups are bounded).
 * Liveness run (-DLIVE, spin -a -f: weak fairness): every thread finishes
 * its ITER rounds: ltl <> (finished == N).  Catches livelocks (cycles where
 * some thread never finishes) as well as deadlocks (a dead end stutters).
 * check.sh runs it for N=2 (N=3 too with --full: ~25 s, 1.3 GB).
 * Not modelled: spurious CAS failures (a weak CAS that fails on an unchanged
 * word only repeats the same step), ct_lock_try_acquire and timeout 0 (the
 * fast CAS alone, which every acquire also does), releases by a thread that
 * does not hold the lock, the TSan annotations and memory orders.
 *
 * FINDING (src/lock.c as of 8c930c4): the N=3 safety run fails, an invalid end
 * state: two untimed acquirers asleep forever on a free lock, word = 10
 * (WAKING, 2 sleepers).  A release sets WAKING and calls wake_one while the
 * only registered sleeper has not yet reached ct__wait_until, so the wake
 * finds nobody; that sleeper's expected value (LOCKED|WAKING|2 sleepers) then
 * comes back by ABA (a deregistration clears WAKING, the next release sets it
 * again, a new holder and a new registration restore LOCKED and the count),
 * it goes to sleep, and every later release sees WAKING and wakes nobody.
 * Needs 3 threads, no timeouts, no spurious wake-up.  Trail: see check.sh
 * output / the report; reproduce with spin -DN=3 -DSPURIOUS=0 -DSPIN=1.
 *
 * -DFIX_WAKING, a proposed fix (verifies clean, N=2 and 3): never sleep on a
 * value that has WAKING set.  A thread whose registration CAS wrote a value
 * with WAKING set skips the wait and acts as the woken sleeper at once
 * (deregister: clear WAKING, take the lock if free, else spin and register
 * again).  Then every value a thread sleeps on has LOCKED set and WAKING
 * clear, so if the word still equals it at the comparison, a holder exists
 * whose release will wake someone: ABA is harmless.  In C, in acquire_slow:
 *     if (s & WAKING) rc = CT_OK; else do { ...wait... } while (...);
 * The broken variants below are checked on top of it (variant-base line), so
 * each one is caught for its own reason, not for the bug above; when lock.c
 * adopts the fix, make it the model's default and empty the variant-base line.
 * src/lock.c adopted the fix: FIX_WAKING is now the model's default (define
 * UNFIXED to check the old code and see the FINDING again).
 * variant-base:
 *
 * Deliberately broken variants (each must be caught):
 *   NOCLEAR        deregistration forgets to clear WAKING: WAKING stays set,
 *                  no release wakes again -> a sleeper strands.
 *   REWAIT_LOCKED  the re-wait test ignores WAKING (re-wait while LOCKED): a
 *                  woken sleeper that finds the lock re-taken goes back to
 *                  sleep still "the woken one", WAKING never clears.
 *   REGISTER_FREE  registration does not require LOCKED: a sleeper can
 *                  register on a free lock and sleep with nobody to wake it.
 *   STALE_RELEASE  release hands wake_sleeper the word before the release
 *                  (LOCKED still set), so it never wakes anyone.
 *   WAKE_STORE     wake_sleeper sets WAKING with a plain load/store instead
 *                  of the CAS: it can overwrite a concurrent acquire (LOCKED)
 *                  or (de)registration.
 *   SWALLOW        a wait layer whose timeout is not atomic with the dequeue:
 *                  a timed-out waiter's queue entry lingers until after it
 *                  deregistered, and a wake_one can pick that stale entry,
 *                  so the real sleeper is not woken while WAKING stays set.
 *   HANDOFF_NOWAKE release in starving mode hands off without waking: the
 *                  lock stays LOCKED with every sleeper asleep.
 *   HANDOFF_FREE   release in starving mode clears LOCKED as it sets HANDOFF:
 *                  a spinner and the returning sleeper both take the lock.
 *   TIMEOUT_DROPS_HANDOFF a timed-out sleeper that finds HANDOFF clears it
 *                  without taking the lock: nobody ever releases it.
 *   STARVE_NOCLEAR the last sleeper to leave keeps STARVING set.
 *   UNFIXED        the round-one protocol without the WAKING fix (FINDING).
 * must-fail: NOCLEAR REWAIT_LOCKED REGISTER_FREE STALE_RELEASE WAKE_STORE SWALLOW HANDOFF_NOWAKE HANDOFF_FREE TIMEOUT_DROPS_HANDOFF STARVE_NOCLEAR UNFIXED
 *
 * Variants the algorithm tolerates (each must still verify clean; they show
 * which parts are not load-bearing for safety or wake-up, only for cost):
 *   WOKEN_TIMEOUT  a woken timed waiter may report ETIMEDOUT (the old model's
 *                  "swallow"): harmless here, since every returning waiter
 *                  deregisters, clears WAKING and takes a free lock, so the
 *                  swallowed wake is never needed by anyone else.
 *   WAKE_ALWAYS    release wakes without setting or checking WAKING (the
 *                  classic wake-per-release): only extra wakes.  (It also
 *                  verifies clean without FIX_WAKING: the FINDING above
 *                  needs WAKING.)
 *   WAKE_LOCKED    wake_sleeper ignores a re-taken LOCKED: only extra wakes.
 *   STARVE_NEVER   no thread ever starves: the round-one protocol plus the
 *                  HANDOFF/STARVING code paths left unreachable.
 * must-pass: WOKEN_TIMEOUT WAKE_ALWAYS WAKE_LOCKED STARVE_NEVER
 *
 * Search sizes (2 loaded cores): N=2 34k states, <1 s; N=3 ITER=1 1M states,
 * 2 s; N=3 STARVE_NEVER 11M states, ~70 s; N=3 full 82M states, ~8 min and
 * 5 GB (check.sh --full only).  Each must-fail variant is caught at N=3 ITER=2
 * within seconds (HANDOFF_FREE and UNFIXED need ITER=2).
 * checks: -DN=2 | -DN=3 -DITER=1
 * checks-full: -DN=3 -DSTARVE_NEVER | -DN=3
 */
#ifndef UNFIXED
#define FIX_WAKING
#endif
#ifndef N
#define N 3
#endif
#ifndef ITER
#define ITER 2
#endif
#ifndef SPIN
#define SPIN 2          /* spin_acquire rounds (SPIN_ROUNDS is 6 in C) */
#endif
#ifndef SPURIOUS
#define SPURIOUS 1      /* spurious OK returns from waits, in all */
#endif

/* model-constants: keep equal to src/internal/lock_word.h (test/model/tie.sh checks) */
#define LOCKED   1
#define WAKING   2
#define HANDOFF  4
#define STARVING 8
#define ONE      16
#define SLEEPERS(x) ((x) >> 4)
#define OK       0
#define TIMEDOUT 1

byte w = 0;                 /* the lock word */
byte inside = 0;            /* threads in the critical section */
byte reg = 0;               /* ghost: threads registered as sleepers */
byte finished = 0;          /* threads done with all rounds */
byte spurious = SPURIOUS;   /* spurious wake-up budget */
bool sleeping[N];           /* the wait queue of the word */

/* ct_wake_one(&w): dequeue one sleeper, any one, if there is one. */
inline wake_one() {
    atomic {
        if
        :: sleeping[0] -> sleeping[0] = false
        :: N > 1 && sleeping[1] -> sleeping[1] = false
        :: N > 2 && sleeping[2] -> sleeping[2] = false
        :: N > 3 && sleeping[3] -> sleeping[3] = false
        :: else -> skip
        fi
    }
}

/* rc = ct__wait_until(&w, s, timed ? deadline : CT__NO_DEADLINE) */
inline wait_word() {
    if
    :: timed -> rc = TIMEDOUT                   /* deadline already passed */
    :: true ->
        atomic { if :: w == s -> sleeping[_pid] = true :: else -> skip fi };
        if
        :: !sleeping[_pid] -> rc = OK           /* woken, or the value differed */
#ifdef WOKEN_TIMEOUT
            ; if :: timed -> rc = TIMEDOUT :: true -> skip fi
#endif
#ifdef SWALLOW
        :: timed && sleeping[_pid] -> rc = TIMEDOUT   /* entry left queued */
#else
        :: atomic { timed && sleeping[_pid] -> sleeping[_pid] = false; rc = TIMEDOUT }
#endif
        :: atomic { spurious > 0 && sleeping[_pid] ->
                    sleeping[_pid] = false; spurious--; rc = OK }
        fi
    fi
}

/* Atomic step of a CAS that takes LOCKED: on success got, else s reloaded. */
inline cas_take() {
    atomic { if :: w == s -> w = s | LOCKED; got = true :: else -> s = w fi }
}

active [N] proctype thread()
{
    byte s, round = 0, i;
    bool got, timed, registered, gaveup, done, starved, handoff;
    bit rc;

    do
    :: round == ITER -> break
    :: else ->
        if :: _pid == 0 -> timed = false
           :: _pid != 0 -> timed = false
           :: _pid != 0 -> timed = true
        fi;
        got = false; gaveup = false; starved = false;
        /* ---- ct_lock_acquire / ct_lock_acquire_timed ---- */
        /* step: fast */
        atomic { if :: !(w & LOCKED) -> w = w | LOCKED; got = true :: else -> skip fi };
        do                                      /* acquire_slow */
        :: got || gaveup -> break
        :: else ->
            /* step: spin */
            i = 0;
            do
            :: got || i == SPIN -> break
            :: else ->
                s = w;
                if
                :: !(s & LOCKED) -> cas_take()
                :: else -> skip
                fi;
                i++                  /* spins on, also while others sleep */
            od;
            i = 0;
            if
            :: got -> break
            :: else -> skip
            fi;
            /* step: register (as a sleeper, or take the lock if it came free) */
            s = w;
            registered = false;
            do
            :: got || registered -> break
#ifdef REGISTER_FREE
            :: else ->
#else
            :: !got && !registered && !(s & LOCKED) -> cas_take()
            :: !got && !registered && (s & LOCKED) ->
#endif
                atomic {
                    if
                    :: w == s ->
                        assert(s & LOCKED);
                        if
#ifndef STARVE_NEVER
                        :: starved -> w = (s + ONE) | STARVING
#endif
                        :: else -> w = s + ONE
                        fi;
                        s = w; reg++;
                        assert(SLEEPERS(w) == reg); registered = true
                    :: else -> s = w
                    fi
                }
            od;
            if
            :: got -> break
            :: else -> skip
            fi;
            /* step: wait (re-wait while held and no wake in flight) */
            if
#ifdef FIX_WAKING
            :: s & WAKING -> rc = OK            /* registered during a wake: be the woken one */
#endif
            :: else ->
                do
                :: wait_word();
                   s = w;
#ifdef REWAIT_LOCKED
                   if :: rc == OK && (s & LOCKED) -> skip
#else
                   if :: rc == OK && (s & (LOCKED | WAKING)) == LOCKED -> skip
#endif
                      :: else -> break
                   fi
                od
            fi;
            /* waited long enough to starve?  (any time: the clock is free) */
#ifndef STARVE_NEVER
            if :: starved = true :: skip fi;
#endif
            /* step: deregister: -1 sleeper, clear WAKING, take a handed-over
             * lock or a free one */
            done = false;
            do
            :: done -> break
            :: else ->
                atomic {
                    if
                    :: w == s ->
                        assert(SLEEPERS(s) > 0);        /* no underflow */
                        assert(!(s & HANDOFF) || (s & WAKING));
#ifdef NOCLEAR
                        w = s - ONE;
#else
                        w = (s - ONE) & ~WAKING;
#endif
                        if
#ifdef TIMEOUT_DROPS_HANDOFF
                        :: (s & HANDOFF) && timed -> w = w & ~HANDOFF
                        :: (s & HANDOFF) && !timed ->
#else
                        :: s & HANDOFF ->
#endif
                            w = (w & ~HANDOFF) | LOCKED; got = true;
                            if :: starved -> w = w & ~STARVING :: else -> skip fi
                        :: !(s & HANDOFF) && !(s & LOCKED) ->
                            w = w | LOCKED; got = true;
                            if :: starved -> w = w & ~STARVING :: else -> skip fi
                        :: else -> skip
                        fi;
#ifndef STARVE_NOCLEAR
                        if :: SLEEPERS(w) == 0 -> w = w & ~STARVING
                           :: else -> skip
                        fi;
#endif
                        reg--; assert(SLEEPERS(w) == reg); done = true
                    :: else -> s = w
                    fi
                }
            od;
            done = false; registered = false;
#ifdef SWALLOW
            sleeping[_pid] = false;             /* the stale entry goes, late */
#endif
            if
            :: got -> skip
            :: !got && rc == TIMEDOUT -> gaveup = true
            :: !got && rc == OK && timed -> gaveup = true   /* deadline passed */
            :: !got && rc == OK -> skip                     /* spin again */
            fi;
            s = 0; rc = OK
        od;
        /* ---- critical section ---- */
        if
        :: got ->
            atomic { inside++; assert(inside == 1);
                     assert(!(w & STARVING) || SLEEPERS(w) > 0) };
            atomic { inside--; got = false };
            /* ---- ct_lock_release ---- */
            /* step: release */
            s = w;
            handoff = false;
            do
            :: atomic {
                   assert(s & LOCKED);              /* never CT_EPERM for a holder */
                   assert(!(s & HANDOFF));          /* a holder never sees a hand-off */
                   if
                   :: w == s && (s & STARVING) && SLEEPERS(s) != 0 ->
#ifdef HANDOFF_FREE
                       w = (s | HANDOFF | WAKING) & ~LOCKED;
#else
                       w = s | HANDOFF | WAKING;
#endif
                       handoff = true; done = true
                   :: w == s && !((s & STARVING) && SLEEPERS(s) != 0) ->
                       w = s & ~LOCKED; done = true
                   :: else -> s = w
                   fi
               };
               if :: done -> break :: else -> skip fi
            od;
            done = false;
            if
            :: handoff ->
#ifndef HANDOFF_NOWAKE
                if :: !(s & WAKING) -> wake_one() :: else -> skip fi;
#endif
                handoff = false
            :: !handoff && SLEEPERS(s) != 0 ->
                /* step: wake */
                /* wake_sleeper(s & ~LOCKED) */
#ifndef STALE_RELEASE
                s = s & ~LOCKED;
#endif
#if defined(WAKE_ALWAYS)
                wake_one()
#else
                do
#ifdef WAKE_LOCKED
                :: SLEEPERS(s) != 0 && !(s & WAKING) ->
#else
                :: SLEEPERS(s) != 0 && !(s & (LOCKED | WAKING)) ->
#endif
#ifdef WAKE_STORE
                    w = s | WAKING; wake_one(); break
#else
                    atomic {
                        if :: w == s -> w = s | WAKING; done = true
                           :: else -> s = w
                        fi
                    };
                    if :: done -> wake_one(); break
                       :: else -> skip
                    fi
#endif
                :: else -> break
                od;
                done = false
#endif
            :: else -> skip
            fi;
            s = 0
        :: else -> skip                         /* timed out: not held */
        fi;
        round++; timed = false
    od;
    atomic {
        finished++;
        if
        :: finished == N -> assert(w == 0 && reg == 0 && inside == 0)
        :: else -> skip
        fi
    }
}

#ifdef LIVE
ltl live { <> (finished == N) }
#endif
