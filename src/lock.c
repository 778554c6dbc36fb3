/* Lock: threading.Lock in one 32-bit word.
 *
 * State word (ct_lock_t.state):
 *   UNLOCKED  0  free
 *   LOCKED    1  held, nobody sleeps on the word
 *   PARKED    2  held, and some thread may sleep on the word (or did)
 *
 * Transitions:
 *   acquire fast:  CAS 0 -> 1                          (acquire order)
 *   acquire slow:  spin with plain loads while held, CAS 0 -> 1 when seen free;
 *                  then XCHG -> 2: if the old value was 0 we hold it (in state
 *                  PARKED, conservatively), else sleep while the word is 2.
 *   release:       XCHG -> 0 (release order); if the old value was PARKED,
 *                  wake one sleeper.  An old value of 0 means the lock was
 *                  not locked: CT_EPERM, and the word is unchanged (it was 0
 *                  and still is), so one XCHG serves both outcomes exactly.
 *
 * No lost wake-up: a thread only sleeps after it has itself written PARKED
 * (with XCHG) and the wait layer re-checks the word == PARKED atomically with
 * going to sleep.  A release that saw LOCKED found no sleeper; any thread that
 * wants to sleep after it must first XCHG, finding 0 and thus owning the lock.
 * A woken thread re-enters with XCHG -> 2, because it cannot know whether
 * other sleepers remain; at worst this costs one needless wake later.
 *
 * Memory orders: the CAS/XCHG that takes the lock is acquire and the CAS that
 * frees it is release, which is the whole happens-before edge between
 * successive critical sections.  Spin loads are relaxed: they only decide
 * when to retry the acquiring CAS.
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>

#include "cthreading/lock.h"
#include "internal/atomic.h"
#include "internal/platform.h"
#include "internal/tsan_owner.h"   /* TSan annotations: design there */
#include "wait/wait.h"

enum { UNLOCKED = 0, LOCKED = 1, PARKED = 2 };

/* Spin this many rounds of CPU relax before sleeping.  On the 2-core VM of
 * our benchmarks a futex hand-off costs ~20 µs per direction while a spinning
 * hand-off costs ~0.1 µs, so a short spin wins every time a critical section
 * is short; 100 PAUSE rounds are a few microseconds, small next to a sleep
 * even when the spin is wasted (holder preempted, threads > cores). */
#define SPIN_ROUNDS 100

static inline _Atomic uint32_t *word(ct_lock_t *l) { return CT__A32(&l->state); }

static inline bool try_fast(_Atomic uint32_t *w)
{
    uint32_t expected = UNLOCKED;
    return atomic_compare_exchange_strong_explicit(w, &expected, LOCKED,
                                                   memory_order_acquire,
                                                   memory_order_relaxed);
}

/* Slow path: the lock was held on the first try.  Returns CT_OK (held) or
 * CT_ETIMEDOUT (deadline passed, not held). */
CT__NOINLINE static int acquire_slow(ct_lock_t *l, int64_t deadline)
{
    _Atomic uint32_t *w = word(l);

    for (int i = 0; i < SPIN_ROUNDS; i++) {
        uint32_t s = ct__load_relaxed(w);
        if (s == UNLOCKED && try_fast(w))
            return CT_OK;
        if (s == PARKED)
            break;              /* others already sleep: join them */
        ct__cpu_relax();
    }
    while (atomic_exchange_explicit(w, PARKED, memory_order_acquire) != UNLOCKED) {
        if (ct__wait_until(&l->state, PARKED, deadline) == CT_ETIMEDOUT)
            return CT_ETIMEDOUT;
    }
    return CT_OK;
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
    return CT__TSAN_LOCK_POST_TRY(l, try_fast(word(l)));
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
        return CT__TSAN_LOCK_POST_ACQUIRE(l, CT_ETIMEDOUT);
    (void)ct__deadline_from_timeout(timeout_ns, &deadline);
    return CT__TSAN_LOCK_POST_ACQUIRE(l, acquire_slow(l, deadline));
}

int ct_lock_release(ct_lock_t *l)
{
    uint32_t old;

    assert(l != NULL);
    CT__TSAN_LOCK_PRE_RELEASE(l);
    old = atomic_exchange_explicit(word(l), UNLOCKED, memory_order_release);
    if (old == PARKED)
        ct_wake_one(&l->state);
    return CT__TSAN_LOCK_POST_RELEASE(l, old == UNLOCKED ? CT_EPERM : CT_OK);
}

bool ct_lock_locked(const ct_lock_t *l)
{
    assert(l != NULL);
    return ct__load_relaxed(CT__A32(&l->state)) != UNLOCKED;
}
