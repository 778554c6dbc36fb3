/* cthreading — Condition: Python's threading.Condition in 32 bytes.
 *
 * A condition is bound to a lock: a Lock (ct_cond_init), an RLock
 * (ct_cond_init_rlock), or — when zero-initialised (CT_COND_INIT) — an RLock
 * of its own, like Condition().  Needs no destroy; re-zeroing a condition no
 * thread is using resets it.
 *
 * "Held" below means: locked, for a Lock (by any thread: a Lock has no owner,
 * exactly as in Python); owned by the caller, for an RLock.  With a Lock the
 * library cannot tell who holds it, so the caller must really be the holder
 * when it waits or notifies; if it is not, the condition's own bookkeeping
 * still stays intact (an internal guard protects the waiter queue), but the
 * lock is released on someone else's behalf, as it would be in Python.
 *
 * Guarantees beyond a pthread condition variable (CPython's suite relies on
 * them): no spurious wake-ups — a waiter returns CT_OK only when a notify
 * chose it; waiters are woken oldest first, exactly min(n, waiting) of them;
 * and a notification that meets a waiter's timeout is never lost — either
 * that waiter reports CT_OK, or the notification went to another waiter.
 *
 * Inside a region of shared memory (<cthreading/shm.h>) a condition works
 * across processes when its lock is in the same region (or it is zeroed: its
 * own RLock).  There it keeps no pointers, and one difference holds: notify
 * chooses among the threads waiting at the time in no particular order
 * (still exactly min(n, waiting), never spuriously, never lost).  A wait
 * there may also return CT_EAGAIN (65535 threads wait already: nothing
 * changed) or CT_EOWNERDEAD (its RLock was taken over from a dead process on
 * the way back: the caller holds it).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_COND_H
#define CTHREADING_COND_H

#include <stddef.h>
#include "base.h"
#include "lock.h"
#include "rlock.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Private fields: touched only by the calls below (zeroed: CT_COND_INIT). */
typedef struct ct_cond {
    uintptr_t lock;      /* the bound lock (tagged offset) or 0 = own */
    union {
        void *waiters;   /* oldest waiter of the FIFO queue, or NULL */
        uint32_t words[2]; /* inside a region of shared memory */
    } q;
    union {
        ct_rlock_t own;  /* the condition's own RLock (lock == 0) */
        ct_lock_t guard; /* bound to a Lock: guards the waiter queue */
    } u;
} ct_cond_t;

#define CT_COND_INIT { 0, { CT__NULL }, { CT_RLOCK_INIT } }

/* Binds c to the Lock `lock` — Condition(lock).  lock == NULL gives the
 * condition its own RLock, like Condition(None).  c must not be in use; the
 * lock must outlive the binding, and neither may move (c records where the
 * lock is relative to itself, so that the binding holds in every process
 * that maps a shared region).  Overwrites c entirely; never fails. */
CT_API void ct_cond_init(ct_cond_t *c, ct_lock_t *lock);

/* Binds c to the RLock `rlock` — Condition(rlock).  NULL: own RLock. */
CT_API void ct_cond_init_rlock(ct_cond_t *c, ct_rlock_t *rlock);

/* Acquires the bound lock — Condition.acquire(); see ct_lock_acquire /
 * ct_rlock_acquire.  Returns CT_OK, or CT_EOVERFLOW for an RLock whose
 * recursion count is full (nothing changes). */
CT_API int ct_cond_acquire(ct_cond_t *c);

/* Condition.acquire(False): true if the caller now holds the bound lock. */
CT_API bool ct_cond_try_acquire(ct_cond_t *c);

/* Condition.acquire(timeout=t): timeout_ns relative, ns.  Returns CT_OK,
 * CT_ETIMEDOUT, CT_EINVAL, or CT_EOVERFLOW, as ct_lock_acquire_timed /
 * ct_rlock_acquire_timed. */
CT_API int ct_cond_acquire_timed(ct_cond_t *c, int64_t timeout_ns);

/* Condition.release(): releases the bound lock (one level of an RLock).
 * Returns CT_OK, or CT_EPERM if it is not held (see above); nothing changes. */
CT_API int ct_cond_release(ct_cond_t *c);

/* True if the bound lock is held (see above) — Condition._is_owned(). */
CT_API bool ct_cond_is_owned(const ct_cond_t *c);

/* Waits until notified — Condition.wait().  Same as ct_cond_wait_timed with
 * CT_FOREVER.  Returns CT_OK or CT_EPERM. */
CT_API int ct_cond_wait(ct_cond_t *c);

/* Waits until notified or until timeout_ns passed — Condition.wait(timeout).
 * The caller must hold the bound lock.  The lock is released completely (all
 * levels of an RLock) while waiting and re-acquired exactly as it was before
 * returning — also on CT_ETIMEDOUT; re-acquiring it may take longer than the
 * timeout.  timeout_ns: relative, ns; 0 releases and re-takes the lock once.
 * Returns CT_OK only if a ct_cond_notify chose this waiter; CT_ETIMEDOUT if
 * the time ran out without one; CT_EPERM if the lock is not held, CT_EINVAL /
 * CT_EOVERFLOW for a bad timeout (nothing released, nothing waited for).
 * Synchronises with the notifier through the lock. */
CT_API int ct_cond_wait_timed(ct_cond_t *c, int64_t timeout_ns);

/* Waits until pred(arg) returns true — Condition.wait_for(pred, timeout).
 * The caller must hold the bound lock; pred runs in the caller with the lock
 * held: first right after the checks, then after every wake-up, and once more
 * when the time is up.  One deadline, taken on entry, bounds all the waits.
 * Returns CT_OK (pred returned true), CT_ETIMEDOUT (it was still false when
 * the time ran out), CT_EPERM (lock not held; pred not called), CT_EINVAL /
 * CT_EOVERFLOW (bad timeout; pred not called). */
CT_API int ct_cond_wait_for(ct_cond_t *c, bool (*pred)(void *arg), void *arg,
                            int64_t timeout_ns);

/* Wakes the n longest-waiting threads (fewer if fewer wait) —
 * Condition.notify(n).  The caller must hold the bound lock.  Returns the
 * number of waiters woken (0 ... n), each of which will return CT_OK; or
 * CT_EPERM if the lock is not held (nobody is woken).  Makes no system call
 * for a waiter that is still spinning. */
CT_API int ct_cond_notify(ct_cond_t *c, unsigned n);

/* Wakes every waiting thread — Condition.notify_all().  Returns the number
 * woken, or CT_EPERM if the lock is not held. */
CT_API int ct_cond_notify_all(ct_cond_t *c);

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_COND_H */
