/* cthreading — Lock: Python's threading.Lock as a 4-byte word.
 *
 * Not recursive, not owned: any thread may release a locked Lock.  Valid
 * when zero-initialised (or CT_LOCK_INIT); needs no destroy.  Re-zeroing a
 * Lock that no thread is using resets it (after fork, say).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_LOCK_H
#define CTHREADING_LOCK_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_lock {
    uint32_t state;   /* see src/lock.c for the encoding; do not touch */
} ct_lock_t;

#define CT_LOCK_INIT { 0 }

/* Acquires the lock, blocking as long as needed — Lock.acquire().
 * Spins briefly, then sleeps.  Acquire ordering: everything the previous
 * holder wrote before ct_lock_release is visible afterwards.  Calling it
 * while the caller already holds the lock deadlocks, as in Python. */
CT_API void ct_lock_acquire(ct_lock_t *l);

/* Takes the lock only if it is free right now — Lock.acquire(blocking=False).
 * Returns true if the caller now holds it.  Never blocks. */
CT_API bool ct_lock_try_acquire(ct_lock_t *l);

/* Acquires the lock, waiting at most timeout_ns — Lock.acquire(timeout=t).
 * timeout_ns: relative, ns; CT_FOREVER or 0 allowed.
 * Returns CT_OK (held), CT_ETIMEDOUT (not held; the lock is unchanged),
 * CT_EINVAL (negative timeout other than CT_FOREVER) or CT_EOVERFLOW
 * (timeout above CT_TIMEOUT_MAX); on an error nothing is waited for. */
CT_API int ct_lock_acquire_timed(ct_lock_t *l, int64_t timeout_ns);

/* Releases the lock — Lock.release().  Any thread may release a locked lock.
 * Wakes one sleeping acquirer if there is one; makes no system call when
 * nobody sleeps.  Returns CT_OK, or CT_EPERM if the lock was not locked (it
 * stays unlocked). */
CT_API int ct_lock_release(ct_lock_t *l);

/* True if the lock is held by some thread right now — Lock.locked().  A
 * snapshot: it may change as soon as it is returned. */
CT_API bool ct_lock_locked(const ct_lock_t *l);

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_LOCK_H */
