/* Lock hooks for the other primitives (not exported).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_LOCK_H
#define CT_INTERNAL_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "cthreading/lock.h"
#include "internal/atomic.h"
#include "internal/platform.h"

/* ct_lock_acquire without the spin before the first sleep: a free lock is
 * taken at once, a held one queues up straight away.  For a waiter that
 * has reason to think the holder cannot let go soon: Condition's notified
 * waiter that was asleep and, woken, finds the lock still held (on one CPU
 * the notifier was preempted by that very wake-up, so every spin round is
 * lost time). */
void ct__lock_acquire_queued(ct_lock_t *l);

/* The Lock's word protocol (src/lock.c) on a bare 32-bit word, for a
 * primitive built on it (RLock keeps its owner and count beside such a
 * word): no TSan annotations, no checks.  A word is valid when zeroed.
 *   ct__lockword_try           one atomic OR: true if it took the word
 *   ct__lockword_acquire_slow  after a failed try: spin, then sleep;
 *                              CT_OK (held) or CT_ETIMEDOUT at `deadline`
 *                              (CT__NO_DEADLINE: never), word unchanged
 *   ct__lockword_release       CT_OK, or CT_EPERM if it was not held */
static inline bool ct__lockword_try(uint32_t *state)
{
    return !(atomic_fetch_or_explicit(CT__A32(state), CT__LOCK_LOCKED, memory_order_acquire) &
             CT__LOCK_LOCKED);
}
int ct__lockword_acquire_slow(uint32_t *state, int64_t deadline);
int ct__lockword_release(uint32_t *state);

/* ct__lockword_release, inline when nobody sleeps or waits for a hand-off
 * (the word is exactly LOCKED): one CAS. */
static inline int ct__lockword_release_fast(uint32_t *state)
{
    uint32_t expected = CT__LOCK_LOCKED;
    if (CT__LIKELY(atomic_compare_exchange_strong_explicit(CT__A32(state), &expected, 0,
                                                           memory_order_release,
                                                           memory_order_relaxed)))
        return CT_OK;
    return ct__lockword_release(state);
}

#endif /* CT_INTERNAL_LOCK_H */
