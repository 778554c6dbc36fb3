/* Lock hooks for the other primitives (not exported).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_LOCK_H
#define CT_INTERNAL_LOCK_H

#include "cthreading/lock.h"

/* ct_lock_acquire without the spin before the first sleep: a free lock is
 * taken at once, a held one queues up straight away.  For a waiter that
 * has reason to think the holder cannot let go soon: Condition's notified
 * waiter that was asleep and, woken, finds the lock still held (on one CPU
 * the notifier was preempted by that very wake-up, so every spin round is
 * lost time). */
void ct__lock_acquire_queued(ct_lock_t *l);

#endif /* CT_INTERNAL_LOCK_H */
