/* Semaphore: threading.Semaphore / BoundedSemaphore in 16 bytes.
 *
 * Words (ct_sem_t):
 *   state  bits 0-62  the value, 0 .. INT64_MAX
 *          bit 63     SLEEPERS: some thread may sleep on the semaphore
 *   bound  0 for an unbounded semaphore, BOUNDED | initial value otherwise;
 *          written only by the init calls.
 *
 * The wait layer waits on 32-bit words, and the value is 63 bits wide, so
 * sleepers sleep on the half of `state` that holds bit 63 (the "sleep half").
 * The invariant that makes that sound:
 *
 *   (I) SLEEPERS is only ever set while the value is 0.
 *
 * So a sleeper's expected sleep half is exactly SLEEPERS >> 32, the word is
 * then exactly SLEEPERS, and every release changes the sleep half (it clears
 * SLEEPERS), whatever the amount.
 *
 * Transitions:
 *   take:     CAS v -> v - 1 when v's value > 0 (acquire order).  By (I) v has
 *             no SLEEPERS bit.
 *   sleep:    when the value is 0: CAS 0 -> SLEEPERS (unless set), then sleep
 *             while the word is SLEEPERS.
 *   release:  CAS v -> value + n, SLEEPERS cleared (release order), after the
 *             bound / INT64_MAX check on the same v: the check and the update
 *             are one atomic step, so racing releases of a bounded semaphore
 *             can never together go past the bound.  If v had SLEEPERS, wake
 *             min(n, WAKE_BATCH) sleepers, one ct_wake_one each.
 *
 * Who re-arms SLEEPERS once a release cleared it (others may still sleep):
 *   - a thread that has slept, when its take leaves the value at 0, takes
 *     with CAS v -> SLEEPERS instead of v -> 0 (conservatively, like the
 *     Lock's re-lock in PARKED state; at worst one needless wake later);
 *   - a thread that has slept, when its take leaves permits behind, passes
 *     the baton: ct_wake_one, because a release that found SLEEPERS clear
 *     woke nobody for those permits;
 *   - a thread that has slept and gives up on a timeout with the value at 0
 *     sets SLEEPERS again (the wake it may have absorbed was meant for some
 *     other sleeper), and if the value is not 0 it takes a permit instead of
 *     timing out.
 * Hence no permit is stranded while a thread sleeps: each release that finds
 * sleepers wakes one per permit (up to WAKE_BATCH), every woken thread either
 * takes a permit and passes the rest on, or re-arms SLEEPERS before sleeping
 * again or leaving.
 *
 * No lost wake-up: a thread sleeps only after the word was SLEEPERS, and the
 * wait layer compares the sleep half with going to sleep atomically; any
 * release after that CAS reads SLEEPERS in its own RMW and wakes.
 *
 * Memory orders: take is acquire and release is release, on the same word
 * (a chain of RMWs), which is the whole happens-before edge.  The SLEEPERS
 * CASes carry no data and need no ordering.
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>

#include "cthreading/sem.h"
#include "cthreading/wait.h"
#include "internal/atomic.h"
#include "internal/sem_word.h"   /* the bits above, named */
#include "internal/platform.h"
#include "internal/spin.h"
#include "platform/os.h"
#include "wait/wait.h"

/* Adaptive spin before sleeping: this thread's policy for Semaphore waits, in
 * PAUSE rounds (bounds, growth rule, turning off and probing, measurements:
 * internal/spin.h). */
CT__SPIN_POLICY(spin_policy, CT_SPIN_HANDOFF_MAX);

/* The first wait after this thread's release woke a sleeper spins on its
 * own "rebound" budget instead (the convoy it breaks: internal/spin.h). */
CT__SPIN_POLICY(rebound_policy, 1024u);
static _Thread_local bool woke_sleeper;

/* A release(n) that finds sleepers wakes at most this many with individual
 * wake-ups; the woken threads pass the baton for any further permits.  Keeps
 * a huge n from making a huge number of system calls. */
#define WAKE_BATCH 16

static inline _Atomic uint64_t *word(ct_sem_t *s) { return CT__A64(&s->state); }

/* The 32-bit half of `state` that holds bit 63, for the wait layer (half
 * SLEEP_HALF_INDEX of internal/sem_word.h: the second half in memory on a
 * little-endian CPU, the first on a big-endian one). */
static inline const uint32_t *sleep_half(const ct_sem_t *s)
{
    return (const uint32_t *)(const void *)&s->state + SLEEP_HALF_INDEX;
}

static inline bool try_take(_Atomic uint64_t *w)
{
    uint64_t v = ct__load_relaxed(w);
    while (v & VALUE_MASK) {
        if (atomic_compare_exchange_weak_explicit(w, &v, v - 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return true;
    }
    return false;
}

/* Takes a permit on behalf of a thread that has slept (see the header
 * comment): re-arms SLEEPERS when it takes the last permit, passes the baton
 * when it leaves permits behind.  Returns false if the value is 0. */
static bool take_after_sleep(ct_sem_t *s)
{
    _Atomic uint64_t *w = word(s);
    uint64_t v = ct__load_relaxed(w), next;

    do {
        if ((v & VALUE_MASK) == 0)
            return false;
        next = v - 1 == 0 ? SLEEPERS : v - 1;
    } while (!atomic_compare_exchange_weak_explicit(w, &v, next, memory_order_acquire,
                                                    memory_order_relaxed));
    if (next != SLEEPERS)
        ct_wake_one(sleep_half(s));
    return true;
}

/* Sets SLEEPERS if the value is 0.  Returns false if the value is not 0. */
static bool arm_sleepers(_Atomic uint64_t *w)
{
    uint64_t v = ct__load_relaxed(w);
    for (;;) {
        if (v & VALUE_MASK)
            return false;
        if (v == SLEEPERS)
            return true;
        if (atomic_compare_exchange_weak_explicit(w, &v, SLEEPERS, memory_order_relaxed,
                                                  memory_order_relaxed))
            return true;
    }
}

/* Slow path: no permit on the first try.  Returns CT_OK or CT_ETIMEDOUT. */
CT__NOINLINE static int acquire_slow(ct_sem_t *s, int64_t deadline)
{
    _Atomic uint64_t *w = word(s);
    bool rebound = woke_sleeper;
    struct ct__spin *policy = rebound ? &rebound_policy : &spin_policy;
    struct ct__spin_bounds bounds = rebound ? CT__SPIN_REBOUND : CT__SPIN_HANDOFF;

    woke_sleeper = false;
    for (unsigned i = 0, limit = ct__spin_rounds(policy, bounds); i < limit; i++) {
        if ((ct__load_relaxed(w) & VALUE_MASK) && try_take(w)) {
            ct__spin_won_after(policy, i, bounds);
            return CT_OK;
        }
        ct__cpu_relax();
    }
    ct__spin_slept(policy, bounds);
    if (try_take(w))
        return CT_OK;
    /* Yield polls (internal/spin.h). */
    for (unsigned y = 0; y < CT__SPIN_YIELDS && !ct__deadline_passed(deadline); y++) {
        ct__os_yield();
        if (try_take(w))
            return CT_OK;
    }
    for (bool slept = false;;) {
        if (slept ? take_after_sleep(s) : try_take(w))
            return CT_OK;
        if (!arm_sleepers(w))
            continue;                     /* a permit arrived meanwhile */
        if (ct__wait_until(sleep_half(s), SLEEP_HALF_EXPECTED, deadline) == CT_ETIMEDOUT) {
            /* Give up, without absorbing a wake meant for someone else. */
            while (!take_after_sleep(s)) {
                if (arm_sleepers(w))
                    return CT_ETIMEDOUT;
            }
            return CT_OK;
        }
        slept = true;
    }
}

static int init(ct_sem_t *s, int64_t value, uint64_t bound)
{
    assert(s != NULL);
    if (value < 0)
        return CT_EINVAL;
    ct__store_relaxed(CT__A64(&s->bound), bound);
    ct__store_release(word(s), (uint64_t)value);
    return CT_OK;
}

int ct_sem_init(ct_sem_t *s, int64_t value) { return init(s, value, 0); }

int ct_sem_init_bounded(ct_sem_t *s, int64_t value)
{
    return init(s, value, BOUNDED | (uint64_t)value);
}

int ct_sem_acquire(ct_sem_t *s)
{
    assert(s != NULL);
    if (CT__LIKELY(try_take(word(s))))
        return CT_OK;
    return acquire_slow(s, CT__NO_DEADLINE);
}

bool ct_sem_try_acquire(ct_sem_t *s)
{
    assert(s != NULL);
    return try_take(word(s));
}

int ct_sem_acquire_timed(ct_sem_t *s, int64_t timeout_ns)
{
    int64_t deadline;
    int rc;

    assert(s != NULL);
    if ((rc = ct__timeout_check(timeout_ns)) != CT_OK)
        return rc;
    if (CT__LIKELY(try_take(word(s))))
        return CT_OK;
    if (timeout_ns == 0)
        return CT_ETIMEDOUT;
    deadline = ct__deadline_of(timeout_ns);
    return acquire_slow(s, deadline);
}

int ct_sem_release(ct_sem_t *s, int64_t n)
{
    _Atomic uint64_t *w;
    uint64_t v, value, limit, bound;

    assert(s != NULL);
    if (n < 1)
        return CT_EINVAL;
    bound = ct__load_relaxed(CT__A64(&s->bound));
    limit = bound ? bound & ~BOUNDED : (uint64_t)INT64_MAX;
    w = word(s);
    v = ct__load_relaxed(w);
    do {
        value = v & VALUE_MASK;
        if ((uint64_t)n > limit - value)
            return CT_EOVERFLOW;
    } while (!atomic_compare_exchange_weak_explicit(w, &v, value + (uint64_t)n,
                                                    memory_order_release,
                                                    memory_order_relaxed));
    if (v & SLEEPERS) {
        for (int64_t i = 0; i < n && i < WAKE_BATCH; i++)
            ct_wake_one(sleep_half(s));
        woke_sleeper = true;
    }
    return CT_OK;
}

int64_t ct_sem_value(const ct_sem_t *s)
{
    assert(s != NULL);
    return (int64_t)(ct__load_relaxed(CT__A64(&s->state)) & VALUE_MASK);
}
