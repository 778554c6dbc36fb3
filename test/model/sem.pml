/* Promela model of Semaphore (src/sem.c) over the wait layer (futex
 * semantics, as lock.pml).
 *
 * The word: the value (val) and the SLEEPERS bit (sl).  Sleepers wait on the
 * 32-bit half that holds SLEEPERS; the values here are small, so that half
 * equals SLEEP_HALF_EXPECTED exactly when sl is set.  Every atomic
 * read-modify-write of the C code is one atomic step (a CAS loop that only
 * retries on a changed word is one step that sees the current word).
 *
 *   try_take          val > 0: val - 1 (sl unchanged)
 *   take_after_sleep  val == 0: fail; else val - 1, and sl set if that left
 *                     0 (re-arm: others may sleep); if permits are left,
 *                     wake_one (the baton)
 *   arm_sleepers      val > 0: fail; else sl set
 *   release(n)        val + n, sl cleared; if sl was set: min(n, WAKE_BATCH)
 *                     wake_one calls
 *   acquire           try_take; else acquire_slow: spin (any number of
 *                     try_take), try_take, then loop { (slept ?
 *                     take_after_sleep : try_take) -> done; arm_sleepers
 *                     failed -> loop; wait(half, SLEEPERS) timed out ->
 *                     { loop: take_after_sleep -> done (OK); arm_sleepers ->
 *                     give up (ETIMEDOUT) }; slept = true }
 *
 * The wait layer: the comparison and going to sleep are one step, so is a
 * wake_one (it dequeues one sleeper of the word, any one); a timed wait may
 * time out at any moment while it sleeps; a woken timed waiter may still
 * report ETIMEDOUT (it swallows the wake: the kernel's timeout racing the
 * wake) — the case the timeout's re-arm exists for; a wait may return
 * spuriously, SPURIOUS times in all.
 *
 * Threads.  Default: the semaphore starts at 1 and threads 0..N-1 each do
 * ITER rounds of acquire / critical section / release(1) (thread 0 untimed,
 * the others timed or untimed per round; a timed-out acquire skips the
 * section and the release).  -DBATCH: it starts at 0, threads 1..N-1 acquire
 * once each and thread 0 releases N-1 permits in one call, with WAKE_BATCH 1
 * so that the woken threads must pass the baton.
 *
 * Checked (safety): at most one thread in the critical section (default);
 * at the end the value is exactly what was released and not acquired, and
 * nobody is left asleep or waiting (invalid end state: a lost wake-up, a
 * stranded permit); (I) SLEEPERS only with value 0 (monitor).
 * Liveness (-DLIVE, weak fairness): every thread finishes.
 *
 * Deliberately broken variants (each must be caught):
 *   NO_REARM          take_after_sleep leaves 0 without SLEEPERS: a second
 *                     sleeper is never woken by the next release.
 *   NO_BATON          take_after_sleep leaves permits without waking the
 *                     next sleeper (implies BATCH: release(2) woke one).
 *   TIMEOUT_NO_REARM  a timed-out acquire that finds no permit gives up
 *                     without re-arming SLEEPERS: the wake it swallowed was
 *                     the only one, the other sleeper strands (implies
 *                     ITER 2: a third thread takes the permit first).
 *   RELEASE_KEEPS_SL  release adds the permits but leaves SLEEPERS set:
 *                     (I) breaks, sleepers compare only their half.
 *   ARM_ANY           arm_sleepers sets SLEEPERS whatever the value: a
 *                     thread sleeps with a permit there.
 * must-fail: NO_REARM NO_BATON TIMEOUT_NO_REARM RELEASE_KEEPS_SL ARM_ANY
 * checks: -DN=2 -DITER=2 | -DN=3 -DITER=1 | -DN=3 -DBATCH | -DN=3 -DITER=2 -DSPURIOUS=0
 */
/* The variants that need a particular set-up bring it. */
#if defined(NO_BATON) && !defined(BATCH)
#define BATCH
#endif
#if defined(TIMEOUT_NO_REARM) && !defined(ITER)
#define ITER 2
#endif
#ifndef N
#define N 2
#endif
#ifndef ITER
#define ITER 1
#endif
#ifndef SPURIOUS
#define SPURIOUS 1
#endif
#ifdef BATCH
#define WAKE_BATCH 1
#define INIT 0
#else
#define WAKE_BATCH 16
#define INIT 1
#endif
#define MAXN 3

byte val = INIT;
bool sl = false;
bool asleep[MAXN];          /* the wait queue of the sleep half */
byte spurious = SPURIOUS;
byte inside = 0;            /* ghost: threads in the critical section */
byte released = 0, acquired = 0, done = 0;

/* wake_one: dequeue one sleeper, any one */
inline wake_one() {
    atomic {
        if
        :: asleep[0] -> asleep[0] = false
        :: asleep[1] -> asleep[1] = false
        :: asleep[2] -> asleep[2] = false
        :: else -> skip
        fi
    }
}

/* ok = took a permit */
inline try_take() {
    atomic { if :: val > 0 -> val--; ok = true :: else -> ok = false fi }
}

inline take_after_sleep() {
    atomic {
        if
        :: val == 0 -> ok = false; baton = false
        :: val == 1 -> val = 0; ok = true; baton = false
#ifndef NO_REARM
            ; sl = true
#endif
        :: val > 1 -> val--; ok = true; baton = true
        fi
    };
#ifndef NO_BATON
    if :: baton -> wake_one() :: else -> skip fi;
#endif
    baton = false
}

/* ok = armed (the value is 0 and SLEEPERS is set) */
inline arm_sleepers() {
    atomic {
#ifdef ARM_ANY
        sl = true; ok = true
#else
        if :: val > 0 -> ok = false :: else -> sl = true; ok = true fi
#endif
    }
}

inline release(n) {
    atomic {
        had = sl; val = val + n;
#ifndef RELEASE_KEEPS_SL
        sl = false;
#endif
        released = released + n
    };
    if
    :: had ->
        k = 0;
        do
        :: k < n && k < WAKE_BATCH -> wake_one(); k++
        :: else -> break
        od;
        k = 0
    :: else -> skip
    fi;
    had = false
}

/* The wait: sleeps while the half is SLEEPERS; woken, spurious, or (timed)
 * timed out, possibly after a wake it swallows.  tout = reported ETIMEDOUT. */
inline wait_half() {
    atomic { if :: sl -> asleep[me] = true :: else -> skip fi };
    if
    :: !asleep[me] ->                                   /* woken, or the word differed */
        if :: timed -> tout = true :: true -> skip fi   /* a timed waiter may swallow it */
    :: atomic { asleep[me] && spurious > 0 -> asleep[me] = false; spurious-- }
    :: atomic { asleep[me] && timed -> asleep[me] = false; tout = true }
    fi
}

/* acquire; ok = took a permit (false: timed out) */
inline acquire() {
    try_take();
    if
    :: ok -> skip
    :: else ->
        /* the spin: any number of try_take */
        do
        :: try_take(); if :: ok -> break :: else -> skip fi
        :: break
        od;
        if
        :: ok -> skip
        :: else ->
            try_take();
            slept = false;
            do
            :: ok -> break
            :: else ->
                if :: slept -> take_after_sleep() :: else -> try_take() fi;
                if
                :: ok -> break
                :: else ->
                    arm_sleepers();
                    if
                    :: !ok -> skip                      /* a permit arrived */
                    :: else ->
                        tout = false; ok = false;
                        wait_half();
                        if
                        :: tout ->
                            do
                            :: take_after_sleep();
                               if
                               :: ok -> break
                               :: else ->
#ifdef TIMEOUT_NO_REARM
                                   break
#else
                                   arm_sleepers();
                                   if :: ok -> ok = false; break :: else -> skip fi
#endif
                               fi
                            od;
                            gave_up = !ok;
                            break
                        :: else -> slept = true
                        fi
                    fi
                fi
            od
        fi
    fi
}

proctype T(byte me)
{
    byte round = 0, k;
    bool ok, baton, had, slept, tout, timed, gave_up;

#ifdef BATCH
    if
    :: me == 0 -> release(N - 1)
    :: else ->
        if :: me == 1 -> timed = false :: else -> if :: timed = true :: timed = false fi fi;
        gave_up = false;
        acquire();
        if :: ok -> atomic { acquired++ } :: else -> skip fi
    fi;
#else
    do
    :: round < ITER ->
        if :: me == 0 -> timed = false :: else -> if :: timed = true :: timed = false fi fi;
        gave_up = false;
        acquire();
        if
        :: ok ->
            atomic { acquired++; inside++; assert(inside == 1) };
            atomic { inside-- };
            release(1)
        :: else -> skip
        fi;
        ok = false; slept = false; tout = false;
        round++
    :: else -> break
    od;
#endif
    atomic { done++ }
}

init {
    byte i = 0;
    atomic {
        do
        :: i < N -> run T(i); i++
        :: else -> break
        od
    }
    (done == N);
    assert(val == INIT + released - acquired)
}

/* (I): SLEEPERS only while the value is 0. */
active proctype monitor()
{
end:
    atomic { sl && val > 0 -> assert(false) }
}

#ifdef LIVE
ltl live { <> (done == N) }
#endif
