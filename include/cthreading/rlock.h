/* cthreading — RLock: Python's threading.RLock in 16 bytes.
 *
 * A reentrant lock: the thread that holds it (its owner) may acquire it again
 * without blocking; it becomes free when the owner has released it as many
 * times as it acquired it.  Only the owner may release it.  Valid when
 * zero-initialised (or CT_RLOCK_INIT); needs no destroy.  Re-zeroing an RLock
 * that no thread is using resets it (after fork, say).
 *
 * The owner is identified by ct_thread_ident(), so an RLock works for every
 * thread, also those the library did not create.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_RLOCK_H
#define CTHREADING_RLOCK_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_rlock {
    uint32_t state;   /* the lock word (private encoding) */
    uint32_t count;   /* private: levels beyond the first; owner only  */
    uint64_t owner;   /* ct_thread_ident() of the owner, 0 when free */
} ct_rlock_t;

#define CT_RLOCK_INIT { 0, 0, 0 }

/* Acquires the lock, blocking as long as needed — RLock.acquire().
 * If the caller already owns it, only the recursion count goes up (no atomic
 * read-modify-write, no waiting).  Otherwise spins briefly, then sleeps until
 * the owner has released it completely.
 * Returns CT_OK, or CT_EOVERFLOW if the caller owns it UINT32_MAX times
 * already (nothing changes).  Acquire ordering: everything the previous owner
 * wrote before its last ct_rlock_release is visible afterwards. */
CT_API int ct_rlock_acquire(ct_rlock_t *r);

/* Acquires the lock only if that needs no waiting — RLock.acquire(False).
 * Returns true if the caller now owns it (it was free, or the caller already
 * owned it and the count went up); false if another thread owns it or the
 * count is at UINT32_MAX (nothing changes).  Never blocks. */
CT_API bool ct_rlock_try_acquire(ct_rlock_t *r);

/* Acquires the lock, waiting at most timeout_ns — RLock.acquire(timeout=t).
 * timeout_ns: relative, ns; CT_FOREVER or 0 allowed.  Re-entry by the owner
 * never waits.
 * Returns CT_OK (owned), CT_ETIMEDOUT (not acquired, the lock unchanged),
 * CT_EINVAL (negative timeout other than CT_FOREVER), CT_EOVERFLOW (timeout
 * above CT_TIMEOUT_MAX, or the count would overflow); on an error nothing is
 * waited for and nothing changes. */
CT_API int ct_rlock_acquire_timed(ct_rlock_t *r, int64_t timeout_ns);

/* Releases one level — RLock.release().  When the count drops to zero the
 * lock becomes free and one sleeping acquirer (if any) is woken; no system
 * call when nobody sleeps.  Release ordering (see ct_rlock_acquire).
 * Returns CT_OK, or CT_EPERM if the caller does not own the lock (another
 * thread owns it, or nobody does): nothing changes then. */
CT_API int ct_rlock_release(ct_rlock_t *r);

/* True if the calling thread owns the lock — RLock._is_owned().  Exact for
 * the caller (no other thread can make it true or false meanwhile). */
CT_API bool ct_rlock_is_owned(const ct_rlock_t *r);

/* The caller's recursion depth: how many releases would free the lock; 0 if
 * the caller does not own it (whoever else might).  Exact for the caller. */
CT_API unsigned ct_rlock_count(const ct_rlock_t *r);

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_RLOCK_H */
