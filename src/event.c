/* Event: threading.Event in one 32-bit word.
 *
 * State word (ct_event_t.state):
 *   bit 0      SET      the flag
 *   bit 1      WAITERS  some thread may sleep on the word (or did)
 *   bits 2-31  generation: +1 by every set that finds the flag clear
 *
 * Transitions:
 *   set:    if SET: nothing.  Else CAS w -> (w + GEN_ONE) | SET, WAITERS
 *           cleared (release order); if WAITERS was set, wake all.
 *   clear:  fetch_and ~SET.  Generation and WAITERS stay.
 *   wait:   note the generation g of the first look; done as soon as SET is
 *           seen or the generation differs from g.  Spin on plain loads, then
 *           CAS WAITERS in and sleep while the word is unchanged.
 *
 * Why waiters survive set-then-clear (CPython #13502): a set bumps the
 * generation, and clear never touches it, so a waiter that wakes after the
 * flag was cleared again still sees "generation != g" and reports CT_OK.
 * The same holds for a spinning waiter that missed both: the word it reads
 * next has another generation.  (Only 2^30 set/clear pairs between two of one
 * waiter's reads could hide it; that is ~minutes of doing nothing else while
 * one thread is frozen mid-spin, and such a wrap needs the waiter's CAS or
 * sleep to hit the exact old word.)
 *
 * No lost wake-up: a thread sleeps only on a word with WAITERS set and
 * without SET; the wait layer compares that word atomically with going to
 * sleep.  Any set after the waiter's CAS changes the word (SET, generation)
 * and, having read WAITERS in its RMW, wakes everybody.
 *
 * Memory orders: set's CAS is release and the waiter's loads of the word
 * acquire, so a waiter that sees SET or a new generation sees what the setter
 * wrote before set (the CASes of other waiters and clear's fetch_and are
 * RMWs, which continue the release sequence).  Setting WAITERS needs no
 * ordering: it only has to be in the word's modification order before the
 * sleep, which the compare-and-sleep guarantees.
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>

#include "cthreading/event.h"
#include "cthreading/wait.h"
#include "internal/atomic.h"
#include "internal/event_word.h"   /* the bits above, named */
#include "internal/platform.h"
#include "internal/spin.h"
#include "platform/os.h"
#include "wait/wait.h"


/* Adaptive spin before sleeping: this thread's policy for Event waits, in
 * PAUSE rounds (bounds, growth rule, turning off and probing, measurements:
 * internal/spin.h). */
CT__SPIN_POLICY(spin_policy, CT_SPIN_HANDOFF_MAX);

static inline _Atomic uint32_t *word(ct_event_t *e) { return CT__A32(&e->state); }

static inline bool released(uint32_t w, uint32_t gen)
{
    return (w & SET) || (w & GEN_MASK) != gen;
}

void ct_event_set(ct_event_t *e)
{
    _Atomic uint32_t *w;
    uint32_t s, next;

    assert(e != NULL);
    w = word(e);
    s = ct__load_relaxed(w);
    do {
        if (s & SET)
            return;
        next = ((s & GEN_MASK) + GEN_ONE) | SET;
    } while (!atomic_compare_exchange_weak_explicit(w, &s, next, memory_order_release,
                                                    memory_order_relaxed));
    if (s & WAITERS)
        ct_wake_all(&e->state);
}

void ct_event_clear(ct_event_t *e)
{
    assert(e != NULL);
    (void)atomic_fetch_and_explicit(word(e), ~SET, memory_order_relaxed);
}

bool ct_event_is_set(const ct_event_t *e)
{
    assert(e != NULL);
    return (ct__load_acquire(CT__A32(&e->state)) & SET) != 0;
}

/* Slow path: the flag was clear at the first look, in generation gen.
 * Returns CT_OK or CT_ETIMEDOUT. */
CT__NOINLINE static int wait_slow(ct_event_t *e, uint32_t gen, int64_t deadline)
{
    _Atomic uint32_t *w = word(e);
    uint32_t s;

    for (unsigned i = 0, limit = ct__spin_rounds(&spin_policy, CT__SPIN_HANDOFF); i < limit;
         i++) {
        if (released(ct__load_acquire(w), gen)) {
            ct__spin_won_after(&spin_policy, i, CT__SPIN_HANDOFF);
            return CT_OK;
        }
        ct__cpu_relax();
    }
    ct__spin_slept(&spin_policy, CT__SPIN_HANDOFF);
    /* Yield polls (internal/spin.h). */
    for (unsigned y = 0; y < CT__SPIN_YIELDS && !ct__deadline_passed(deadline); y++) {
        ct__os_yield();
        if (released(ct__load_acquire(w), gen))
            return CT_OK;
    }
    s = ct__load_acquire(w);
    for (;;) {
        if (released(s, gen))
            return CT_OK;
        if (!(s & WAITERS)) {
            if (!atomic_compare_exchange_weak_explicit(w, &s, s | WAITERS,
                                                       memory_order_acquire,
                                                       memory_order_acquire))
                continue;
            s |= WAITERS;
        }
        if (ct__wait_until(&e->state, s, deadline) == CT_ETIMEDOUT)
            /* A set racing with the timeout still counts. */
            return released(ct__load_acquire(w), gen) ? CT_OK : CT_ETIMEDOUT;
        s = ct__load_acquire(w);
    }
}

void ct_event_wait(ct_event_t *e)
{
    uint32_t s;

    assert(e != NULL);
    s = ct__load_acquire(word(e));
    if (CT__LIKELY(s & SET))
        return;
    (void)wait_slow(e, s & GEN_MASK, CT__NO_DEADLINE);
}

int ct_event_wait_timed(ct_event_t *e, int64_t timeout_ns)
{
    int64_t deadline;
    uint32_t s;
    int rc;

    assert(e != NULL);
    if ((rc = ct__timeout_check(timeout_ns)) != CT_OK)
        return rc;
    s = ct__load_acquire(word(e));
    if (s & SET)
        return CT_OK;
    if (timeout_ns == 0)
        return CT_ETIMEDOUT;
    deadline = ct__deadline_of(timeout_ns);
    return wait_slow(e, s & GEN_MASK, deadline);
}
