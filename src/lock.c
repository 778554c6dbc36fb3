/* Lock: threading.Lock in one 32-bit word.
 *
 * State word (ct_lock_t.state):
 *   bit 0      LOCKED    the lock is held
 *   bit 1      WAKING    a sleeper has been woken and has not yet come back to
 *                        compete; releases issue no further wake meanwhile
 *   bits 2-31  SLEEPERS  threads registered as (about to be) asleep on the word
 *
 * Transitions:
 *   acquire fast:  CAS 0 -> LOCKED                                (acquire)
 *   acquire slow:  spin a bounded number of rounds with plain loads, CAS-ing
 *                  LOCKED in whenever it is seen clear; then register as a
 *                  sleeper (CAS +1 SLEEPER, only while LOCKED is set) and
 *                  wait on the word with the value just written.  A return
 *                  that finds the lock held and no wake in flight only saw
 *                  the word change: wait again on the new value.  Otherwise
 *                  (woken, lock free, or timed out) deregister (CAS -1
 *                  SLEEPER, clear WAKING, and take LOCKED too if it is clear)
 *                  and spin again.
 *   release:       CAS clearing LOCKED (release order); 0 -> CT_EPERM with the
 *                  word unchanged.  If sleepers are registered, no wake is in
 *                  flight and nobody re-took the lock meanwhile, set WAKING and
 *                  wake one sleeper.
 *
 * No lost wake-up: a sleeper registers only while LOCKED is set, never sleeps
 * on a value with WAKING set (a thread that registered during a wake acts as
 * the woken one instead), and sleeps only while the word still holds the
 * value it registered.  So whenever a thread sleeps, the word shows a holder
 * and no wake in flight, and that holder's release wakes someone (or leaves
 * it to the next holder, who re-checks) — even if the word came back to the
 * sleeper's value by ABA.  The spin model in test/model/lock.pml checks this
 * protocol for 2 and 3 threads, timed and untimed.  A woken or returning sleeper always clears
 * WAKING, so the next release wakes again; a new holder's release re-checks.
 * A waiter that timed out deregisters the same way, so it never strands the
 * others.
 *
 * Why WAKING: with the classic 0/1/2 futex lock every release while anyone
 * sleeps costs a wake system call, and under contention the woken thread
 * usually finds the lock re-taken and sleeps again.  Keeping at most one wake
 * in flight (as Go's sync.Mutex does) removes most of those system calls, and
 * a release that sees the lock already re-taken leaves the wake to the new
 * holder.
 *
 * Memory orders: the CAS that sets LOCKED is acquire and the CAS that clears
 * it is release — the whole happens-before edge between critical sections.
 * Every other access only steers retries and may be relaxed.
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>

#include "cthreading/lock.h"
#include "internal/atomic.h"
#include "internal/platform.h"
#include "internal/tsan_owner.h"   /* TSan annotations: design there */
#include "wait/wait.h"

#define LOCKED      UINT32_C(1)
#define WAKING      UINT32_C(2)
#define ONE_SLEEPER UINT32_C(4)
#define SLEEPERS(s) ((s) >> 2)

/* Spin before sleeping: SPIN_ROUNDS looks at the word, with an exponentially
 * growing pause between looks (1, 2, 4, ... PAUSEs: 63 in all, a couple of
 * microseconds).  Measured on the 2-core VM (bench/, 2-8 threads): a long
 * spin of frequent loads *costs* contended throughput, because every look
 * pulls the cache line away from the holder; few, spaced looks still catch a
 * short critical section ending, and a waiter that finds others already
 * asleep does not spin at all (contention is heavy: queue up). */
#ifndef SPIN_ROUNDS
#define SPIN_ROUNDS 6
#endif

static inline _Atomic uint32_t *word(ct_lock_t *l) { return CT__A32(&l->state); }

static inline bool cas(_Atomic uint32_t *w, uint32_t *expected, uint32_t desired,
                       memory_order success)
{
    return atomic_compare_exchange_weak_explicit(w, expected, desired, success,
                                                 memory_order_relaxed);
}

static inline bool try_fast(_Atomic uint32_t *w)
{
    uint32_t expected = 0;
    return atomic_compare_exchange_strong_explicit(w, &expected, LOCKED,
                                                   memory_order_acquire,
                                                   memory_order_relaxed);
}

/* Takes the lock if LOCKED is clear right now, whatever the other bits: a
 * free lock may still show registered sleepers or a wake in flight, and a
 * try-acquire must not fail on it (that made try-lock spinners livelock
 * against slow woken sleepers). */
static inline bool try_take(_Atomic uint32_t *w)
{
    uint32_t s = 0;

    if (atomic_compare_exchange_strong_explicit(w, &s, LOCKED, memory_order_acquire,
                                                memory_order_relaxed))
        return true;
    while (!(s & LOCKED)) {
        if (cas(w, &s, s | LOCKED, memory_order_acquire))
            return true;
    }
    return false;
}

/* Takes the lock if LOCKED is clear, whatever the other bits; bounded spin
 * with exponential backoff; gives up at once when others sleep. */
static bool spin_acquire(_Atomic uint32_t *w)
{
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        uint32_t s = ct__load_relaxed(w);
        if (!(s & LOCKED) && cas(w, &s, s | LOCKED, memory_order_acquire))
            return true;
        if (SLEEPERS(s) != 0)
            return false;
        for (int j = 0; j < (1 << i); j++)
            ct__cpu_relax();
    }
    return false;
}

/* Slow path: the lock was held on the first try.  Returns CT_OK (held) or
 * CT_ETIMEDOUT (deadline passed, not held; the word keeps no trace of us). */
CT__NOINLINE static int acquire_slow(ct_lock_t *l, int64_t deadline)
{
    _Atomic uint32_t *w = word(l);

    for (;;) {
        uint32_t s;
        int rc;

        if (spin_acquire(w))
            return CT_OK;
        /* Register as a sleeper, or take the lock if it just came free. */
        s = ct__load_relaxed(w);
        for (;;) {
            if (!(s & LOCKED)) {
                if (cas(w, &s, s | LOCKED, memory_order_acquire))
                    return CT_OK;
            } else if (cas(w, &s, s + ONE_SLEEPER, memory_order_relaxed)) {
                s += ONE_SLEEPER;
                break;
            }
        }
        /* Sleep.  A return while the lock is still held and no wake is in
         * flight only means the word changed under us (the holder changed,
         * or another sleeper registered): sleep again on the new value,
         * still registered, rather than churn the word. */
        if (s & WAKING) {
            /* Registered while a wake is in flight: never sleep on a value
             * with WAKING set (that wake may have found nobody asleep, and
             * the word can come back to this value by ABA with no release
             * left to wake us: found by the spin model, test/model/).  Act
             * as the woken sleeper at once instead. */
            rc = CT_OK;
        } else {
            do {
                rc = ct__wait_until(&l->state, s, deadline);
                s = ct__load_relaxed(w);
            } while (rc == CT_OK && (s & (LOCKED | WAKING)) == LOCKED);
        }
        /* Deregister; we are (or stand for) the woken sleeper, so clear
         * WAKING; and take the lock in the same step if it is free. */
        for (;;) {
            uint32_t next = (s - ONE_SLEEPER) & ~WAKING;
            bool take = !(s & LOCKED);
            if (take)
                next |= LOCKED;
            if (cas(w, &s, next, take ? memory_order_acquire : memory_order_relaxed)) {
                if (take)
                    return CT_OK;
                break;
            }
        }
        if (rc == CT_ETIMEDOUT || ct__deadline_passed(deadline))
            return CT_ETIMEDOUT;
    }
}

/* Release found sleepers: wake one unless a wake is in flight or the lock was
 * taken again (its holder's release will see the sleepers). */
CT__NOINLINE static void wake_sleeper(ct_lock_t *l, uint32_t s)
{
    _Atomic uint32_t *w = word(l);

    while (SLEEPERS(s) != 0 && !(s & (LOCKED | WAKING))) {
        if (cas(w, &s, s | WAKING, memory_order_relaxed)) {
            ct_wake_one(&l->state);
            return;
        }
    }
}

void ct_lock_acquire(ct_lock_t *l)
{
    assert(l != NULL);
    CT__TSAN_LOCK_PRE_ACQUIRE(l, 0);
    if (CT__UNLIKELY(!try_fast(word(l))))
        (void)acquire_slow(l, CT__NO_DEADLINE);
    (void)CT__TSAN_LOCK_POST_ACQUIRE(l, CT_OK);
}

bool ct_lock_try_acquire(ct_lock_t *l)
{
    assert(l != NULL);
    CT__TSAN_LOCK_PRE_ACQUIRE(l, CT__TSAN_TRY);
    return CT__TSAN_LOCK_POST_TRY(l, try_take(word(l)));
}

int ct_lock_acquire_timed(ct_lock_t *l, int64_t timeout_ns)
{
    int64_t deadline;
    int rc;

    assert(l != NULL);
    if ((rc = ct__timeout_check(timeout_ns)) != CT_OK)
        return rc;
    /* Like TSan's pthread_mutex_timedlock: a finite wait is a try-lock. */
    CT__TSAN_LOCK_PRE_ACQUIRE(l, timeout_ns == CT_FOREVER ? 0 : CT__TSAN_TRY);
    if (CT__LIKELY(try_fast(word(l))))
        return CT__TSAN_LOCK_POST_ACQUIRE(l, CT_OK);
    if (timeout_ns == 0)
        return CT__TSAN_LOCK_POST_ACQUIRE(l, try_take(word(l)) ? CT_OK : CT_ETIMEDOUT);
    (void)ct__deadline_from_timeout(timeout_ns, &deadline);
    return CT__TSAN_LOCK_POST_ACQUIRE(l, acquire_slow(l, deadline));
}

int ct_lock_release(ct_lock_t *l)
{
    _Atomic uint32_t *w;
    uint32_t s;

    assert(l != NULL);
    w = word(l);
    CT__TSAN_LOCK_PRE_RELEASE(l);
    s = ct__load_relaxed(w);
    do {
        if (!(s & LOCKED))
            return CT__TSAN_LOCK_POST_RELEASE(l, CT_EPERM);
    } while (!cas(w, &s, s & ~LOCKED, memory_order_release));
    if (CT__UNLIKELY(SLEEPERS(s) != 0))
        wake_sleeper(l, s & ~LOCKED);
    return CT__TSAN_LOCK_POST_RELEASE(l, CT_OK);
}

bool ct_lock_locked(const ct_lock_t *l)
{
    assert(l != NULL);
    return (ct__load_relaxed(CT__A32(&l->state)) & LOCKED) != 0;
}
