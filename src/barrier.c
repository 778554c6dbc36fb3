/* Barrier: threading.Barrier's state machine in one 32-bit word.
 *
 * State word (ct_barrier_t.state):
 *   bits 0-28   count: threads inside wait() (arrived and not yet left)
 *   bit 29      PARKED: some thread may sleep on the word (or did)
 *   bits 30-31  phase: FILLING 0, DRAINING 1, RESETTING 2, BROKEN 3
 * Zero is "filling, empty".  parties lives in its own (constant) field.
 *
 * Transitions (CPython's Lib/threading.py Barrier, without its lock):
 *   arrive:   in FILLING with count < parties: CAS count+1; the old count is
 *             the arrival index.  In DRAINING, RESETTING, or FILLING with
 *             count == parties (the last arrival is running the action):
 *             wait for the phase to change.  In BROKEN: CT_EBROKEN.
 *   release:  the arrival that made count == parties runs the action, then
 *             CAS FILLING -> DRAINING.  An action failure: -> BROKEN.  If the
 *             phase is no longer FILLING (reset or abort during the action),
 *             the generation did not complete: CT_EBROKEN.
 *   await:    other arrivals wait while the phase is FILLING.  DRAINING means
 *             released (return the index); RESETTING or BROKEN: CT_EBROKEN.
 *             A timeout while still FILLING: -> BROKEN, CT_ETIMEDOUT.
 *   leave:    every arrival, however it ends: count-1; the one that brings
 *             count to 0 in DRAINING or RESETTING sets FILLING (the next
 *             generation may start).  BROKEN stays until reset.
 *   reset:    count > 0: FILLING or BROKEN -> RESETTING (DRAINING/RESETTING
 *             stay: the leavers finish them); count == 0: -> FILLING.
 *   abort:    -> BROKEN.
 * Every transition that changes the phase clears PARKED and, if it was set,
 * wakes all.  Count changes never wake: sleepers only care about the phase.
 *
 * The invariant that makes one word enough (no generation number): the
 * phase only returns to FILLING once count is 0, i.e. once every thread of
 * the previous generation has left.  So a waiter, which is counted until it
 * leaves, sees the outcome of its own generation and not a later one.
 *
 * No lost wake-up: a thread sleeps only on a word with PARKED set, which the
 * wait layer compares atomically with going to sleep; every phase change is
 * an RMW of the same word that reads PARKED and wakes all.
 *
 * Memory orders: arrivals and leaves are acq_rel RMWs, so the releaser's RMW
 * (which continues the release sequence of every arrival) acquires all the
 * parties' writes, runs the action, and publishes all of it with its
 * release CAS to DRAINING; waiters read the phase with acquire loads.
 * reset/abort/timeout breaks are release RMWs too.  Setting PARKED needs no
 * ordering (compare-and-sleep).
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>

#include "cthreading/barrier.h"
#include "cthreading/wait.h"
#include "internal/atomic.h"
#include "internal/platform.h"
#include "wait/wait.h"

#define COUNT_MASK  UINT32_C(0x1FFFFFFF)
#define PARKED      (UINT32_C(1) << 29)
#define PHASE_SHIFT 30
#define FILLING     (UINT32_C(0) << PHASE_SHIFT)
#define DRAINING    (UINT32_C(1) << PHASE_SHIFT)
#define RESETTING   (UINT32_C(2) << PHASE_SHIFT)
#define BROKEN      (UINT32_C(3) << PHASE_SHIFT)
#define PHASE_MASK  (UINT32_C(3) << PHASE_SHIFT)

_Static_assert(CT_BARRIER_PARTIES_MAX == COUNT_MASK, "count field holds parties");

/* Spin this many CPU-relax rounds before sleeping.  The last arrival of a
 * generation usually comes within microseconds when parties <= cores; a
 * futex wake costs ~20 µs to take effect on our 2-core VM.  With more
 * threads than cores the spin is wasted, so it stays short: 200 PAUSE rounds
 * are ~3-6 µs (the 8-thread row of the benchmark checks it does not cost
 * throughput). */
#define SPIN_ROUNDS 200

static inline _Atomic uint32_t *word(ct_barrier_t *b) { return CT__A32(&b->state); }

/* Waits until the word may differ from `seen`: spins on plain loads while
 * *spins lasts (the budget is shared by one call of ct_barrier_wait), then
 * sets PARKED and sleeps.  Returns CT_OK (look again) or CT_ETIMEDOUT. */
static int await_change(ct_barrier_t *b, uint32_t seen, int64_t deadline, int *spins)
{
    _Atomic uint32_t *w = word(b);

    while (*spins > 0) {
        --*spins;
        if (ct__load_acquire(w) != seen)
            return CT_OK;
        ct__cpu_relax();
    }
    if (!(seen & PARKED)) {
        if (!atomic_compare_exchange_strong_explicit(w, &seen, seen | PARKED,
                                                     memory_order_relaxed,
                                                     memory_order_relaxed))
            return CT_OK;
        seen |= PARKED;
    }
    return ct__wait_until(&b->state, seen, deadline);
}

/* After an RMW that changed the phase (and so cleared PARKED): wakes the
 * sleepers if the replaced word `old` said there might be some. */
static void wake_if_parked(ct_barrier_t *b, uint32_t old)
{
    if (old & PARKED)
        ct_wake_all(&b->state);
}

/* Moves to BROKEN from whatever phase (CPython's _break). */
static void break_barrier(ct_barrier_t *b)
{
    _Atomic uint32_t *w = word(b);
    uint32_t s = ct__load_relaxed(w);
    while (!atomic_compare_exchange_weak_explicit(w, &s, (s & COUNT_MASK) | BROKEN,
                                                  memory_order_release,
                                                  memory_order_relaxed)) {}
    wake_if_parked(b, s);
}

/* The last arrival: run the action, then release the generation. */
static int release_generation(ct_barrier_t *b, int index)
{
    _Atomic uint32_t *w = word(b);
    uint32_t s;

    if (b->action != NULL && b->action(b->arg) != 0) {
        break_barrier(b);
        return CT_EBROKEN;
    }
    s = ct__load_relaxed(w);
    do {
        if ((s & PHASE_MASK) != FILLING)
            return CT_EBROKEN;            /* reset or abort during the action */
    } while (!atomic_compare_exchange_weak_explicit(w, &s, (s & COUNT_MASK) | DRAINING,
                                                    memory_order_acq_rel,
                                                    memory_order_relaxed));
    wake_if_parked(b, s);
    return index;
}

/* Any other arrival: wait for the release, a break, or the deadline. */
static int await_release(ct_barrier_t *b, int index, int64_t deadline, int *spins)
{
    _Atomic uint32_t *w = word(b);
    uint32_t s;

    for (;;) {
        s = ct__load_acquire(w);
        if ((s & PHASE_MASK) != FILLING)
            break;
        if (await_change(b, s, deadline, spins) == CT_ETIMEDOUT) {
            /* Break it, unless the release or a break won the race. */
            s = ct__load_relaxed(w);
            while ((s & PHASE_MASK) == FILLING) {
                if (atomic_compare_exchange_weak_explicit(w, &s, (s & COUNT_MASK) | BROKEN,
                                                          memory_order_release,
                                                          memory_order_acquire)) {
                    wake_if_parked(b, s);
                    return CT_ETIMEDOUT;
                }
            }
            atomic_thread_fence(memory_order_acquire);
            break;
        }
    }
    return (s & PHASE_MASK) == DRAINING ? index : CT_EBROKEN;
}

/* Every arrival leaves: the last one out of a draining or resetting
 * generation opens the barrier for the next. */
static void leave(ct_barrier_t *b)
{
    _Atomic uint32_t *w = word(b);
    uint32_t s = ct__load_relaxed(w), next;

    do {
        next = s - 1;
        if ((next & COUNT_MASK) == 0 && ((next & PHASE_MASK) == DRAINING ||
                                         (next & PHASE_MASK) == RESETTING))
            next = FILLING;
    } while (!atomic_compare_exchange_weak_explicit(w, &s, next, memory_order_acq_rel,
                                                    memory_order_relaxed));
    if (next == FILLING && (s & PHASE_MASK) != FILLING)
        wake_if_parked(b, s);
}

static int wait_deadline(ct_barrier_t *b, int64_t deadline)
{
    _Atomic uint32_t *w = word(b);
    uint32_t parties = b->parties, s;
    int spins = SPIN_ROUNDS, index, rc;

    assert(parties >= 1 && "ct_barrier_init was not called");
    s = ct__load_acquire(w);
    for (;;) {
        uint32_t phase = s & PHASE_MASK;
        if (phase == BROKEN)
            return CT_EBROKEN;
        if (phase != FILLING || (s & COUNT_MASK) == parties) {
            /* The previous generation is still draining, resetting or
             * running its action: wait (untimed, as CPython's _enter). */
            (void)await_change(b, s, CT__NO_DEADLINE, &spins);
            s = ct__load_acquire(w);
            continue;
        }
        if (atomic_compare_exchange_weak_explicit(w, &s, s + 1, memory_order_acq_rel,
                                                  memory_order_acquire))
            break;
    }
    index = (int)(s & COUNT_MASK);
    if ((uint32_t)index + 1 == parties)
        rc = release_generation(b, index);
    else
        rc = await_release(b, index, deadline, &spins);
    leave(b);
    return rc;
}

int ct_barrier_init(ct_barrier_t *b, unsigned parties, int (*action)(void *), void *arg,
                    int64_t default_timeout_ns)
{
    int rc;

    assert(b != NULL);
    if (parties < 1 || parties > CT_BARRIER_PARTIES_MAX)
        return CT_EINVAL;
    if ((rc = ct__timeout_check(default_timeout_ns)) != CT_OK)
        return rc;
    b->action = action;
    b->arg = arg;
    b->default_timeout_ns = default_timeout_ns;
    b->parties = parties;
    ct__store_release(word(b), FILLING);
    return CT_OK;
}

int ct_barrier_wait(ct_barrier_t *b)
{
    int64_t deadline;

    assert(b != NULL);
    (void)ct__deadline_from_timeout(b->default_timeout_ns, &deadline);
    return wait_deadline(b, deadline);
}

int ct_barrier_wait_timed(ct_barrier_t *b, int64_t timeout_ns)
{
    int64_t deadline;
    int rc;

    assert(b != NULL);
    if ((rc = ct__deadline_from_timeout(timeout_ns, &deadline)) != CT_OK)
        return rc;
    return wait_deadline(b, deadline);
}

void ct_barrier_reset(ct_barrier_t *b)
{
    _Atomic uint32_t *w;
    uint32_t s, next;

    assert(b != NULL);
    w = word(b);
    s = ct__load_relaxed(w);
    do {
        uint32_t count = s & COUNT_MASK, phase = s & PHASE_MASK;
        if (count == 0)
            phase = FILLING;
        else if (phase == FILLING || phase == BROKEN)
            phase = RESETTING;
        next = count | phase;
    } while (!atomic_compare_exchange_weak_explicit(w, &s, next, memory_order_release,
                                                    memory_order_relaxed));
    wake_if_parked(b, s);
}

void ct_barrier_abort(ct_barrier_t *b)
{
    assert(b != NULL);
    break_barrier(b);
}

bool ct_barrier_broken(const ct_barrier_t *b)
{
    assert(b != NULL);
    return (ct__load_acquire(CT__A32(&b->state)) & PHASE_MASK) == BROKEN;
}

unsigned ct_barrier_parties(const ct_barrier_t *b)
{
    assert(b != NULL);
    return b->parties;
}

unsigned ct_barrier_n_waiting(const ct_barrier_t *b)
{
    uint32_t s;

    assert(b != NULL);
    s = ct__load_relaxed(CT__A32(&b->state));
    if ((s & PHASE_MASK) != FILLING || (s & COUNT_MASK) == b->parties)
        return 0;
    return s & COUNT_MASK;
}
