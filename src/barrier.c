/* Barrier: threading.Barrier's state machine in one 32-bit word.
 *
 * State word (ct_barrier_t.state; bits named in internal/barrier_word.h):
 *   bits 0-15   count: arrivals of the current generation that have not left
 *   bit 16      PARKED: some thread may sleep on the word (or did)
 *   bits 17-18  phase: FILLING 0, RESETTING 1, BROKEN 2
 *   bits 19-31  generation number (13 bits, wraps)
 * Zero is "generation 0, filling, empty".  parties lives in its own
 * (constant) field.
 *
 * Transitions (CPython's Lib/threading.py Barrier, lock-free):
 *   arrive:   FILLING with count < parties: CAS count+1; the old count is the
 *             arrival index.  FILLING with count == parties (the last arrival
 *             is running the action) or RESETTING: wait for the word to
 *             change.  BROKEN: CT_EBROKEN.
 *   release:  the arrival that made count == parties runs the action, then
 *             CAS -> generation+1, count 0, FILLING.  Nobody of the released
 *             generation has to leave: they recognise the new generation.
 *             An action failure -> BROKEN.  If the phase is no longer FILLING
 *             (reset or abort during the action), the generation did not
 *             complete: CT_EBROKEN (only an action that itself resets
 *             or aborts sees that: see "the action is atomic" below).
 *   await:    other arrivals of generation g wait while the word says
 *             (g, FILLING).  Another generation: released, return the index.
 *             (g, RESETTING or BROKEN): CT_EBROKEN.  A timeout while
 *             (g, FILLING) and count < parties: -> BROKEN, CT_ETIMEDOUT.
 *   leave:    every arrival that was NOT released (CT_EBROKEN, CT_ETIMEDOUT)
 *             does count-1; the one that brings count to 0 in RESETTING sets
 *             FILLING.  BROKEN stays until reset.
 *   reset:    count > 0: FILLING or BROKEN -> RESETTING (the waiters of the
 *             generation get CT_EBROKEN, and new arrivals wait until the last
 *             of them has left, as CPython's "resetting" state);
 *             count == 0: -> FILLING.
 *   abort:    -> BROKEN.
 * The action is atomic with its release, as in CPython (which runs both
 * under the barrier's lock): while the word says (g, FILLING, count ==
 * parties), a reset or abort from another thread waits for the release and
 * then applies to the next generation, and a waiter of g whose deadline
 * passes keeps waiting (untimed) for the release, so a generation whose
 * action succeeded is always released.  The action's own thread is exempt
 * (its reset or abort applies at once: CT_EBROKEN for the generation); an
 * action that blocks until another thread resets or aborts deadlocks, as in
 * CPython.
 * Every transition that changes phase or generation clears PARKED and, if it
 * was set, wakes all.  Count changes never wake.
 *
 * CPython also has a "draining" state in which new arrivals wait until every
 * released thread has left; that costs a second sleep and wake per round.
 * The generation number replaces it: a released thread knows it was released
 * because the generation moved on, whatever the count says by then.
 *
 * Generation wrap: a waiter of generation g misreads only if exactly a
 * multiple of 8192 generations complete between two of its reads.  With at
 * most `parties` threads using the barrier that is impossible (generation
 * g + 1 needs the waiter itself); with more threads than parties, one thread
 * would have to be frozen through 8192 rounds, and would then merely wait
 * for the next round.
 *
 * No lost wake-up: a thread sleeps only on a word with PARKED set, which the
 * wait layer compares atomically with going to sleep; every transition a
 * sleeper waits for is an RMW of the same word that reads PARKED and wakes.
 *
 * Memory orders: arrivals are acq_rel RMWs, so the releaser's RMW (which
 * continues the release sequence of every arrival) acquires all the parties'
 * writes, runs the action, and publishes all of it with its release CAS to
 * the next generation; waiters read the word with acquire loads.  Breaks and
 * resets are release RMWs.  Setting PARKED needs no ordering
 * (compare-and-sleep).
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>

#include "cthreading/barrier.h"
#include "cthreading/wait.h"
#include "internal/atomic.h"
#include "internal/barrier_word.h"
#include "internal/platform.h"
#include "internal/spin.h"
#include "platform/os.h"
#include "wait/wait.h"

_Static_assert(CT_BARRIER_PARTIES_MAX == COUNT_MASK, "count field holds parties");

/* Adaptive spin before sleeping: this thread's policy for Barrier waits, in
 * PAUSE rounds (bounds, growth rule, turning off and probing, measurements:
 * internal/spin.h). */
CT__SPIN_POLICY(spin_policy, CT_SPIN_HANDOFF_MAX);

static inline _Atomic uint32_t *word(ct_barrier_t *b) { return CT__A32(&b->state); }

/* The barrier whose action this thread runs now (NULL: none). */
static _Thread_local const ct_barrier_t *tl_in_action;

/* One call of ct_barrier_wait's spinning: the budget left, and whether it
 * had to sleep. */
struct spin { unsigned left, used; bool slept; };

/* Waits until the word may differ from `seen`: spins on plain loads while
 * the budget lasts, then sets PARKED and sleeps.  Returns CT_OK (look again)
 * or CT_ETIMEDOUT. */
static int await_change(ct_barrier_t *b, uint32_t seen, int64_t deadline, struct spin *sp)
{
    _Atomic uint32_t *w = word(b);

    while (sp->left > 0) {
        sp->left--;
        sp->used++;
        if (ct__load_acquire(w) != seen)
            return CT_OK;
        ct__cpu_relax();
    }
    sp->slept = true;                  /* the PAUSE spin did not do it */
    /* Yield polls (internal/spin.h). */
    for (unsigned y = 0; y < CT__SPIN_YIELDS && !ct__deadline_passed(deadline); y++) {
        ct__os_yield();
        if (ct__load_acquire(w) != seen)
            return CT_OK;
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

/* Is the last arrival of the generation in s running the action, on
 * another thread than this one?  Then a reset or abort must wait. */
static bool action_elsewhere(const ct_barrier_t *b, uint32_t s)
{
    return (s & PHASE_MASK) == FILLING && (s & COUNT_MASK) == b->parties && tl_in_action != b;
}

/* Waits (untimed) until the word differs from s; returns the new word. */
static uint32_t await_untimed(ct_barrier_t *b, uint32_t s)
{
    struct spin sp = { ct__spin_rounds(&spin_policy, CT__SPIN_HANDOFF), 0, false };
    (void)await_change(b, s, CT__NO_DEADLINE, &sp);
    return ct__load_acquire(word(b));
}

/* Moves to BROKEN from whatever phase, keeping count and generation
 * (CPython's _break); first waits for an action running on another thread
 * to release its generation. */
static void break_barrier(ct_barrier_t *b)
{
    _Atomic uint32_t *w = word(b);
    uint32_t s = ct__load_acquire(w);
    for (;;) {
        if (action_elsewhere(b, s)) {
            s = await_untimed(b, s);
            continue;
        }
        if (atomic_compare_exchange_weak_explicit(w, &s, (s & ~(PHASE_MASK | PARKED)) | BROKEN,
                                                  memory_order_release, memory_order_acquire))
            break;
    }
    wake_if_parked(b, s);
}

/* The last arrival: run the action, then release the generation. */
static int release_generation(ct_barrier_t *b, int index)
{
    _Atomic uint32_t *w = word(b);
    uint32_t s;

    if (b->action != NULL) {
        const ct_barrier_t *outer = tl_in_action;    /* an action may wait on another barrier */
        int failed;
        tl_in_action = b;
        failed = b->action(b->arg) != 0;
        if (failed)
            break_barrier(b);
        tl_in_action = outer;
        if (failed)
            return CT_EBROKEN;
    }
    s = ct__load_relaxed(w);
    do {
        if ((s & PHASE_MASK) != FILLING)
            return CT_EBROKEN;            /* reset or abort during the action */
    } while (!atomic_compare_exchange_weak_explicit(w, &s, (s & GEN_MASK) + GEN_ONE,
                                                    memory_order_acq_rel,
                                                    memory_order_relaxed));
    wake_if_parked(b, s);
    return index;
}

/* Any other arrival of generation `gen`: wait for the release, a break, or
 * the deadline. */
static int await_release(ct_barrier_t *b, uint32_t gen, int index, int64_t deadline,
                         struct spin *spins)
{
    _Atomic uint32_t *w = word(b);
    uint32_t s;

    for (;;) {
        s = ct__load_acquire(w);
        if ((s & GEN_MASK) != gen)
            return index;                 /* released */
        if ((s & PHASE_MASK) != FILLING)
            return CT_EBROKEN;
        if (await_change(b, s, deadline, spins) == CT_ETIMEDOUT) {
            /* Break it, unless the release or a break won the race; while
             * the last arrival runs the action, wait for its release. */
            s = ct__load_acquire(w);
            while ((s & GEN_MASK) == gen && (s & PHASE_MASK) == FILLING) {
                if ((s & COUNT_MASK) == b->parties) {
                    s = await_untimed(b, s);
                    continue;
                }
                if (atomic_compare_exchange_weak_explicit(
                        w, &s, (s & ~(PHASE_MASK | PARKED)) | BROKEN,
                        memory_order_release, memory_order_acquire)) {
                    wake_if_parked(b, s);
                    return CT_ETIMEDOUT;
                }
            }
            return (s & GEN_MASK) != gen ? index : CT_EBROKEN;
        }
    }
}

/* An arrival that was not released leaves: the last one out of a resetting
 * generation opens the barrier again. */
static void leave(ct_barrier_t *b)
{
    _Atomic uint32_t *w = word(b);
    uint32_t s = ct__load_relaxed(w), next;

    do {
        next = s - 1;
        if ((next & COUNT_MASK) == 0 && (next & PHASE_MASK) == RESETTING)
            next &= GEN_MASK;             /* FILLING, PARKED cleared */
    } while (!atomic_compare_exchange_weak_explicit(w, &s, next, memory_order_acq_rel,
                                                    memory_order_relaxed));
    if ((s & PHASE_MASK) == RESETTING && (next & PHASE_MASK) == FILLING)
        wake_if_parked(b, s);
}

/* timeout_ns was validated by the caller.  As in CPython, the timeout covers
 * the wait for the generation to fill, not the untimed wait to enter (while a
 * reset drains or the previous generation's action runs): the deadline is
 * taken once the thread has arrived. */
static int wait_timeout(ct_barrier_t *b, int64_t timeout_ns)
{
    _Atomic uint32_t *w = word(b);
    int64_t deadline = CT__NO_DEADLINE;
    uint32_t parties = b->parties, s;
    struct spin spins = { ct__spin_rounds(&spin_policy, CT__SPIN_HANDOFF), 0, false };
    int index, rc;

    /* Misuse check in every build: a zeroed (never initialised) barrier has
     * no parties; waiting on it would hang for ever. */
    if (CT__UNLIKELY(parties == 0))
        return CT_EINVAL;
    s = ct__load_acquire(w);
    for (;;) {
        uint32_t phase = s & PHASE_MASK;
        if (phase == BROKEN)
            return CT_EBROKEN;
        if (phase == RESETTING || (s & COUNT_MASK) == parties) {
            /* A reset is waiting for its waiters to leave, or the last
             * arrival runs the action: wait (untimed, as CPython's _enter). */
            (void)await_change(b, s, CT__NO_DEADLINE, &spins);
            s = ct__load_acquire(w);
            continue;
        }
        if (atomic_compare_exchange_weak_explicit(w, &s, s + 1, memory_order_acq_rel,
                                                  memory_order_acquire))
            break;
    }
    index = (int)(s & COUNT_MASK);
    deadline = ct__deadline_of(timeout_ns);
    if ((uint32_t)index + 1 == parties)
        rc = release_generation(b, index);
    else
        rc = await_release(b, s & GEN_MASK, index, deadline, &spins);
    if (rc < 0)
        leave(b);
    if (spins.slept)
        ct__spin_slept(&spin_policy, CT__SPIN_HANDOFF);
    else if (spins.used > 0)
        ct__spin_won_after(&spin_policy, spins.used, CT__SPIN_HANDOFF);
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
    assert(b != NULL);
    /* ct_barrier_init validated the default timeout. */
    return wait_timeout(b, b->default_timeout_ns);
}

int ct_barrier_wait_timed(ct_barrier_t *b, int64_t timeout_ns)
{
    int rc;

    assert(b != NULL);
    if ((rc = ct__timeout_check(timeout_ns)) != CT_OK)
        return rc;
    return wait_timeout(b, timeout_ns);
}

void ct_barrier_reset(ct_barrier_t *b)
{
    _Atomic uint32_t *w;
    uint32_t s, next;

    assert(b != NULL);
    w = word(b);
    s = ct__load_acquire(w);
    for (;;) {
        uint32_t count = s & COUNT_MASK;
        if (action_elsewhere(b, s)) {
            s = await_untimed(b, s);          /* the action is atomic with its release */
            continue;
        }
        next = (s & GEN_MASK) | count | (count == 0 ? FILLING : RESETTING);
        if (atomic_compare_exchange_weak_explicit(w, &s, next, memory_order_release,
                                                  memory_order_acquire))
            break;
    }
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
