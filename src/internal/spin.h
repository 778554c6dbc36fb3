/* Adaptive spinning before a wait parks: a per-thread budget of PAUSE rounds.
 *
 * Why spin at all.  A futex wake-to-run hand-off costs 2-20 µs per
 * direction (the pthread columns of cthreading-bench --matrix=handoff: 7-17
 * µs per round trip), while a hand-off to a thread that is spinning on the
 * cache line costs ~0.1 µs (its "floor" row, split placement).  A waiter
 * whose wake-up arrives within its spin saves two system calls and most of
 * the latency; without any spin the 2-thread Semaphore/Event/Barrier
 * hand-offs lose their 10x advantage over pthread (bench_sem_event_barrier.c).
 *
 * Why adapt.  When threads outnumber cores the waker is usually not running,
 * and every spin round only burns the time slice it needs: a fixed 200-round
 * spin made the 4- and 8-thread barrier rounds 2x slower than pthread
 * (bench_sem_event_barrier.c, barrier rows, on 2 CPUs).  So each thread
 * keeps its own policy per primitive (a `static _Thread_local struct
 * ct__spin` in the primitive's file; one primitive's pattern does not tune
 * another's): a wait that ends during the spin raises the budget, a wait
 * that had to sleep anyway halves it.
 *
 * Bounds (PAUSE takes ~20 ns here).  The maximum (~10 µs) covers a partner
 * that is running and stays below one sleeping hand-off, so even a wasted
 * full spin costs less than the sleep it tried to avoid.  The minimum
 * (~0.3 µs) is the shortest spin worth making; below it spinning is off.
 *
 * Turning spinning off.  Even the minimum spin is waste when the partner
 * cannot run while we spin: both threads on one CPU, or more runnable
 * threads than CPUs.  There every spin fails and costs its 0.3-1 µs (PAUSE
 * is slower than 20 ns on a busy VM) on every wait, twice per round trip.
 * So a budget halved below its minimum becomes 0: the waits park at once.
 * Measured (cthreading-bench --matrix=handoff --only=same --runs=31
 * --trips=1000, 2 CPUs under other load, 3 interleaved pairs of runs), ct p50 /
 * pthread p50 with both threads on CPU 0: Condition 1.94 -> 1.73,
 * Semaphore 1.24 -> 1.19, Barrier and Event unchanged (1.05-1.1, 0.5): the
 * rest of the one-CPU gap is not the spin.
 * What the waits observe turns it back on: every so often one wait spins the
 * maximum as a probe; a probe that is answered during its spin restores the
 * budget, one that is not doubles the number of waits to the next probe (1,
 * 2, 4, ... up to CT__SPIN_PROBE_MAX).  No pattern can keep spinning off
 * for good: when the partner moves to another CPU, a probe at most
 * CT__SPIN_PROBE_MAX waits later sees it (1024 sleeping waits: 2-10 ms);
 * and the probes cost at most one maximum spin per CT__SPIN_PROBE_MAX waits
 * where they keep failing.  That is 256 -> 1024 since the sixth session: in
 * a one-CPU ping-pong every wait is a rebound wait, whose probe is 1024
 * PAUSEs (~25 µs on the AMD EPYC host), so one probe per 256 waits cost ~0.1
 * µs a wait, about half the Semaphore's gap to sem_t there (cross-process
 * Semaphore on one CPU, ct p50 / pshared sem_t p50, 3 interleaved pairs of
 * runs: 1.09-1.12 -> 1.04-1.06; floating 1.07-1.08 -> 1.03-1.08).
 *
 * Two growth rules are in use, each tuned with its own primitive's benchmark:
 *   ct__spin_won_after  next = max(budget, 2 * used + min): grows to what the
 *                       last win needed (Semaphore, Event, Barrier);
 *   ct__spin_won        next = 2 * budget (Condition).
 * Both then clamp to [min, max]; ct__spin_slept halves (below min: off).
 * The policy state is private to its thread, so plain (non-atomic)
 * accesses suffice.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_SPIN_H
#define CT_INTERNAL_SPIN_H

#include <stdatomic.h>
#include <stddef.h>

/* The budget bounds of one primitive, in rounds (min <= max): PAUSE rounds,
 * or yield rounds for the executor's waits (src/executor.c). */
struct ct__spin_bounds {
    unsigned min, max;
};

/* Semaphore, Event and Barrier waits: 500 rounds (~10 µs) at most, 8
 * (~0.3 µs with the loop's own loads) at least; a thread starts at the
 * maximum.  CT_SPIN_HANDOFF_MAX may be overridden at build time for tuning
 * experiments. */
#ifndef CT_SPIN_HANDOFF_MAX
#define CT_SPIN_HANDOFF_MAX 500u
#endif
#define CT__SPIN_HANDOFF ((struct ct__spin_bounds){ 8u, CT_SPIN_HANDOFF_MAX })

/* The first wait after this thread's own release/notify had to wake a
 * sleeper ("rebound" spin, Semaphore and Condition): up to 1024 rounds
 * (~25 µs), at least 16.  The answer to that wake cannot come before the
 * woken thread runs, a whole wake-to-run hand-off (8-10 µs median, ~30 µs at
 * the 90th percentile: the "same" rows of cthreading-bench --matrix=handoff,
 * where every hand-off sleeps, on an idle machine), which is longer than the
 * ordinary maximum.  With only the ordinary budget two threads handing off
 * to each other fall into a convoy they never leave: each wakes the other,
 * spins less than the other's wake-up takes, sleeps, and is woken in turn
 * (every ordinary budget then sits at its minimum or is off).  One spin
 * that outlasts the partner's wake-up puts both back into spinning
 * hand-offs.  The rebound budget is adaptive like the others (it halves when
 * that spin fails), so where it does not pay, e.g. both threads sharing one
 * busy core, it turns off; its probes (1024 rounds) are what can still
 * catch a partner's wake-up and leave such a convoy. */
#define CT__SPIN_REBOUND ((struct ct__spin_bounds){ 16u, 1024u })

/* Yield polls: after its spin (or at once while spinning is off), a Lock
 * acquire (and so an RLock's) and a Semaphore, Event, Condition, Barrier or
 * Queue wait gives its CPU away (ct__os_yield: sched_yield /
 * SwitchToThread) and looks again, up to this many times, before it parks
 * (a timed wait stops at its deadline).  Where the thread it waits for shares
 * this CPU (one CPU, more runnable threads than CPUs, a preempted holder),
 * the yield lets it run at once, and its release/post/set/notify then finds
 * nobody asleep and makes no system call: a one-CPU round trip becomes two
 * yields and two context switches instead of two wakes, two sleeps and two
 * switches.  Where it runs elsewhere or is slow, the polls cost ~0.3 µs
 * each on an idle CPU (the yield returns at once) before the same park as
 * before.  Measured (cthreading-bench --matrix=handoff, both threads on
 * CPU 0, ct p50 / pthread twin p50), 0 -> 8 polls: Semaphore 1.04-1.10 ->
 * 0.65, Event 0.46 -> 0.29, Condition 1.08 -> 0.35, Barrier 1.03 -> 0.36;
 * Semaphore alone with 1, 4, 16 polls: 0.67, 0.64, 0.64; the two-CPU cells
 * did not move.  The Lock's oversubscribed cells: lock.c, yield_acquire.
 * Not adaptive: a wasted poll costs less than a sleep it may save, and the
 * spin policy above still halves when its PAUSE spin fails, so on one CPU
 * the PAUSE spin turns off and the polls do the work. */
#define CT__SPIN_YIELDS 8u

/* Waits between probes while spinning is off, at most (see above). */
#define CT__SPIN_PROBE_MAX 1024u

/* A fresh thread that starts from an "off" seed probes within this many
 * waits (ct__spin_adopt). */
#define CT__SPIN_FIRST_PROBE 4u

/* One thread's spin policy for one kind of wait. */
struct ct__spin {
    unsigned budget;     /* rounds the next spin may take; 0: spinning is off */
    unsigned interval;   /* off: waits from a failed probe to the next one;
                            0: not started yet (a thread's first wait adopts
                            the seed, below) */
    unsigned countdown;  /* off: waits left before the next probe (0: probe now) */
    _Atomic unsigned *seed;  /* this kind of wait's process-wide seed, or NULL */
};

/* The initial state: spinning on, `max` rounds, no seed. */
#define CT__SPIN_START(max) { (max), 1u, 0u, NULL }

/* A process-wide seed for a thread's first wait.  Learning that spinning
 * does not pay costs a fresh thread a full budget halving down to off and
 * then its first probes, 1, 2, 4 ... waits apart: ~0.5 ms of PAUSEs per
 * kind of wait in the first thousand waits (counted: 25 PAUSE rounds per
 * wait over the one-CPU Semaphore rows of the hand-off matrix, whose runs
 * use fresh threads; with no spin at all those rows were 1.02-1.04x
 * pthread instead of 1.22-1.24x).  So what the threads of a process learn
 * is kept per kind of wait, as the probe interval of a thread whose
 * spinning is off (0 while spinning pays), and a thread's first wait
 * starts from it: off, with the next probe that many waits away.  The
 * seed is written only when a thread's spinning turns off or on or its
 * probe interval grows (a few times per thread), and read once per thread
 * and on a win, so it stays a read-mostly cache line.  A fresh thread that
 * starts off still probes within its first CT__SPIN_FIRST_PROBE waits, so
 * short-lived threads keep testing whether spinning pays again. */
#define CT__SPIN_POLICY(name, max)                  \
    static _Atomic unsigned name##_seed;            \
    static _Thread_local struct ct__spin name = { (max), 0u, 0u, &name##_seed }

static inline void ct__spin_publish(struct ct__spin *s, unsigned interval)
{
    if (s->seed != NULL &&
        atomic_load_explicit(s->seed, memory_order_relaxed) != interval)
        atomic_store_explicit(s->seed, interval, memory_order_relaxed);
}

/* A thread's first wait of this kind: start from the seed. */
static inline void ct__spin_adopt(struct ct__spin *s)
{
    unsigned off = s->seed != NULL ? atomic_load_explicit(s->seed, memory_order_relaxed) : 0u;

    s->interval = 1u;
    if (off != 0) {
        /* Off, but probe within the first few waits: a process whose
         * threads are all short-lived would otherwise never probe again
         * (only a won probe clears the seed), and one probe per thread
         * costs far less than the learning it saves. */
        s->budget = 0;
        s->interval = off;
        s->countdown = off < CT__SPIN_FIRST_PROBE ? off : CT__SPIN_FIRST_PROBE;
    }
}

static inline unsigned ct__spin_clamp(unsigned n, struct ct__spin_bounds b)
{
    return n > b.max ? b.max : n < b.min ? b.min : n;
}

/* The rounds this wait may spin before it parks: the budget, or while
 * spinning is off 0, or b.max when this wait is the probe.  Call once per
 * wait that may spin, then report its outcome with one of the calls below
 * (none if it returned 0 and the wait did not spin). */
static inline unsigned ct__spin_rounds(struct ct__spin *s, struct ct__spin_bounds b)
{
    if (s->interval == 0)
        ct__spin_adopt(s);
    if (s->budget > 0)
        return s->budget;
    if (s->countdown > 1) {
        s->countdown--;
        return 0;
    }
    s->countdown = 0;
    return b.max;
}

/* The wait ended during the spin, `used` rounds in: the next spin may go to
 * twice that plus the minimum, and keeps at least the budget it had. */
static inline void ct__spin_won_after(struct ct__spin *s, unsigned used,
                                      struct ct__spin_bounds b)
{
    unsigned next = 2 * used + b.min;
    s->budget = ct__spin_clamp(next < s->budget ? s->budget : next, b);
    s->interval = 1;
    ct__spin_publish(s, 0);
}

/* The wait ended during the spin: the budget doubles (a probe: the maximum). */
static inline void ct__spin_won(struct ct__spin *s, struct ct__spin_bounds b)
{
    s->budget = s->budget > 0 ? ct__spin_clamp(2 * s->budget, b) : b.max;
    s->interval = 1;
    ct__spin_publish(s, 0);
}

/* The spin ran out and the waiter went on to sleep (or to its slow path):
 * the budget halves; below the minimum spinning turns off until a probe.
 * A wait that did not spin (spinning off, not the probe) changes nothing. */
static inline void ct__spin_slept(struct ct__spin *s, struct ct__spin_bounds b)
{
    if (s->budget == 0 && s->countdown > 0)
        return;
    if (s->budget == 0 || s->budget / 2 < b.min) {
        if (s->budget == 0 && s->interval < CT__SPIN_PROBE_MAX)
            s->interval *= 2;                /* the probe failed */
        s->budget = 0;
        s->countdown = s->interval;
        ct__spin_publish(s, s->interval);
        return;
    }
    s->budget /= 2;
}

#endif /* CT_INTERNAL_SPIN_H */
