/* ThreadSanitizer annotations for Lock, whose release may come from any thread.
 *
 * The problem.  TSan's mutex model (the __tsan_mutex_* interface, see tsan.h)
 * assumes the thread that unlocks is the thread that locked.  A Python Lock
 * may be released by any thread (API.md), so naive annotations make TSan
 * report "unlock of an unlocked mutex (or by a wrong thread)" for a legitimate
 * cross-thread release, and "double lock" when a third thread then takes a
 * lock TSan still believes the first thread holds.
 *
 * The design: a TSan-only side table (src/tsan_owner.c) maps a lock's address
 * to one 64-bit word:
 *     bits 63..1  the ct_thread_ident of the thread TSan believes holds the
 *                 lock (0: none)
 *     bit 0       SIGNAL: the lock was once released by a thread other than
 *                 its acquirer
 * A lock starts as a MUTEX (bit 0 clear) and is annotated exactly like a
 * pthread mutex: pre_lock before blocking (so TSan checks lock order before a
 * real deadlock can hang the process), post_lock once held, pre/post_unlock
 * around the release.  Try-locks and timed acquires with a finite timeout
 * carry the try flag, as TSan's own pthread_mutex_trylock/timedlock
 * interceptors do (a lock that cannot block forever adds no lock-order edge).
 *
 * The first cross-thread release turns the lock into a SIGNAL lock for good:
 * it is being used as a binary semaphore, which pthread has no twin for, and
 * from then on none of its operations are mutex operations for TSan.  Its
 * happens-before edges come from the lock word's own acquire/release atomics,
 * which TSan models natively.  Two loose ends are tied up:
 *   - The acquiring thread is left holding the lock in TSan's books (a
 *     "phantom" hold; TSan has no call to unlock on another thread's behalf).
 *     The side table remembers that thread, and the next Lock operation that
 *     thread makes on the same lock first hands the phantom back with a
 *     balanced pre/post_unlock on its own thread.  Until then the phantom is
 *     harmless: no lock-order edge can lead into a SIGNAL lock (it is never
 *     locked again as a mutex), so it cannot close a false cycle.
 *   - A thread already between pre_lock and post_lock when the lock turns
 *     SIGNAL had TSan ignore its atomics (the bracket does that); it takes
 *     the ownership CAS below, finds SIGNAL, ends the bracket as a failed try
 *     and picks up the releaser's edge through __tsan_release/__tsan_acquire
 *     on the lock's address.
 * TSan keeps one sync object per address, so the mutex TSan is told about is
 * the lock's address + 1 (the address reports print), the hand-off edge is
 * + 2, and the lock word's atomics keep the address itself: a mutex unlock
 * stores its clock into its sync object and would otherwise erase the edge a
 * concurrent atomic release of the word merged there.
 * The owner half of the word is written with a CAS by the acquirer right
 * before post_lock, and cleared by the owner's CAS right before pre_unlock,
 * so the table and TSan agree on who holds a MUTEX lock at every step.
 *
 * Release of an unlocked lock (the call returns CT_EPERM) always makes TSan
 * report "unlock of an unlocked mutex", as for pthread: after the fact, with
 * a pre/post_unlock pair by a thread that does not hold it in TSan's books.
 * Reports stop for a lock once TSan marked it broken, as for pthread.
 *
 * Costs and limits.  All table accesses are relaxed atomics: TSan derives no
 * happens-before from them, so the table cannot hide a bug.  Entries are
 * never removed (16384 slots, static, TSan builds only); a new Lock placed at
 * the address of one that turned SIGNAL stays SIGNAL, and a lock that finds
 * the table full is treated as SIGNAL: both lose reports, never add false
 * ones.  Without TSan, or with CT_NO_TSAN_ANNOTATIONS (CMake option
 * CT_TSAN_ANNOTATIONS=OFF), every macro below is the bare expression: no
 * call, no table, no cost (Windows and gcc/clang non-TSan builds alike).
 *
 * Usage in src/lock.c (each public function, at entry and at each return):
 *   CT__TSAN_LOCK_PRE_ACQUIRE(l, flags)        flags: 0 or CT__TSAN_TRY
 *   return CT__TSAN_LOCK_POST_ACQUIRE(l, rc)   rc: CT_OK if now held
 *   return CT__TSAN_LOCK_POST_TRY(l, ok)       bool version
 *   CT__TSAN_LOCK_PRE_RELEASE(l)
 *   return CT__TSAN_LOCK_POST_RELEASE(l, rc)   rc: CT_OK or CT_EPERM
 * The pre/post pair of one call runs on one thread, with no other Lock call
 * of that thread in between (per-thread state lives in a _Thread_local).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_TSAN_OWNER_H
#define CT_INTERNAL_TSAN_OWNER_H

#include <stdbool.h>
#include "tsan.h"

#if defined(CT__TSAN_ANNOTATE)
void ct__tsan_lock_pre_acquire(const void *lock, unsigned flags);
int ct__tsan_lock_post_acquire(const void *lock, int rc);
void ct__tsan_lock_pre_release(const void *lock);
int ct__tsan_lock_post_release(const void *lock, int rc);

#define CT__TSAN_LOCK_PRE_ACQUIRE(l, f)  ct__tsan_lock_pre_acquire((l), (f))
#define CT__TSAN_LOCK_POST_ACQUIRE(l, rc) ct__tsan_lock_post_acquire((l), (rc))
#define CT__TSAN_LOCK_POST_TRY(l, ok) \
    (ct__tsan_lock_post_acquire((l), (ok) ? CT_OK : CT_ETIMEDOUT) == CT_OK)
#define CT__TSAN_LOCK_PRE_RELEASE(l)     ct__tsan_lock_pre_release((l))
#define CT__TSAN_LOCK_POST_RELEASE(l, rc) ct__tsan_lock_post_release((l), (rc))
#else
#define CT__TSAN_LOCK_PRE_ACQUIRE(l, f)   ((void)0)
#define CT__TSAN_LOCK_POST_ACQUIRE(l, rc) (rc)
#define CT__TSAN_LOCK_POST_TRY(l, ok)     (ok)
#define CT__TSAN_LOCK_PRE_RELEASE(l)      ((void)0)
#define CT__TSAN_LOCK_POST_RELEASE(l, rc) (rc)
#endif

#endif /* CT_INTERNAL_TSAN_OWNER_H */
