/* Adaptive spinning before a wait parks: a per-thread budget of PAUSE rounds.
 *
 * Why spin at all.  On the 2-core benchmark VM a futex wake-to-run hand-off
 * costs 2-20 µs per direction, while a hand-off to a thread that is spinning
 * on the cache line costs ~0.1 µs.  A waiter whose wake-up arrives within
 * its spin saves two system calls and most of the latency; without any spin
 * the 2-thread Semaphore/Event/Barrier hand-offs lose their 10x advantage
 * over pthread (bench_sem_event_barrier.c).
 *
 * Why adapt.  When threads outnumber cores the waker is usually not running,
 * and every spin round only burns the time slice it needs: a fixed 200-round
 * spin made the 4- and 8-thread barrier rounds 2x slower than pthread on
 * 2 cores.  So each thread keeps its own budget per primitive (a
 * `static _Thread_local unsigned` in the primitive's file; one primitive's
 * pattern does not tune another's): a wait that ends during the spin raises
 * the budget, a wait that had to sleep anyway halves it.
 *
 * Bounds (PAUSE takes ~20 ns here).  The maximum (~10 µs) covers a partner
 * that is running and stays below one sleeping hand-off, so even a wasted
 * full spin costs less than the sleep it tried to avoid.  The minimum
 * (~0.3 µs) costs nothing measurable when wasted and keeps a little
 * spinning so the budget can grow back.
 *
 * Two growth rules are in use, each tuned with its own primitive's benchmark:
 *   ct__spin_won_after  next = max(budget, 2 * used + min): grows to what the
 *                       last win needed (Semaphore, Event, Barrier);
 *   ct__spin_won        next = 2 * budget (Condition).
 * Both then clamp to [min, max]; ct__spin_slept halves, clamped likewise.
 *
 * The budget is private to its thread, so plain (non-atomic) accesses suffice.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_SPIN_H
#define CT_INTERNAL_SPIN_H

/* The budget bounds of one primitive, in PAUSE rounds (min <= max). */
struct ct__spin_bounds {
    unsigned min, max;
};

/* Semaphore, Event and Barrier waits: 500 rounds (~10 µs) at most, 8
 * (~0.3 µs with the loop's own loads) at least; a thread starts at the
 * maximum.  CT_SPIN_HANDOFF_MAX
 * may be overridden at build time for tuning experiments. */
#ifndef CT_SPIN_HANDOFF_MAX
#define CT_SPIN_HANDOFF_MAX 500u
#endif
#define CT__SPIN_HANDOFF ((struct ct__spin_bounds){ 8u, CT_SPIN_HANDOFF_MAX })

/* The first wait after this thread's own release/notify had to wake a
 * sleeper ("rebound" spin, Semaphore and Condition): up to 1024 rounds
 * (~25 µs), at least 16.  The answer to that wake cannot come before the
 * woken thread runs, a whole wake-to-run hand-off (8-10 µs median, ~30 µs at
 * the 90th percentile on the quiet 2-core VM), which is longer than the
 * ordinary maximum.  With only the ordinary budget two threads handing off
 * to each other fall into a convoy they never leave: each wakes the other,
 * spins less than the other's wake-up takes, sleeps, and is woken in turn
 * (every budget then sits at its minimum).  One spin that outlasts the
 * partner's wake-up puts both back into spinning hand-offs.  The rebound
 * budget is adaptive like the others (it halves when that spin fails), so
 * where it does not pay, e.g. both threads sharing one busy core, it
 * shrinks to the minimum. */
#define CT__SPIN_REBOUND ((struct ct__spin_bounds){ 16u, 1024u })

static inline unsigned ct__spin_clamp(unsigned n, struct ct__spin_bounds b)
{
    return n > b.max ? b.max : n < b.min ? b.min : n;
}

/* The wait ended during the spin, `used` rounds in: the next spin may go to
 * twice that plus the minimum, and keeps at least the budget it had. */
static inline void ct__spin_won_after(unsigned *budget, unsigned used, struct ct__spin_bounds b)
{
    unsigned next = 2 * used + b.min;
    *budget = ct__spin_clamp(next < *budget ? *budget : next, b);
}

/* The wait ended during the spin: the budget doubles. */
static inline void ct__spin_won(unsigned *budget, struct ct__spin_bounds b)
{
    *budget = ct__spin_clamp(2 * *budget, b);
}

/* The spin ran out and the waiter went on to sleep (or to its slow path):
 * the budget halves. */
static inline void ct__spin_slept(unsigned *budget, struct ct__spin_bounds b)
{
    *budget = ct__spin_clamp(*budget / 2, b);
}

#endif /* CT_INTERNAL_SPIN_H */
