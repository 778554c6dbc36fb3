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
    uint32_t state;   /* private: touched only by the calls below */
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

/* ---- Inline fast paths ---------------------------------------------------
 * The uncontended acquire, try-acquire and release are one atomic
 * read-modify-write on the word, compiled into the caller: acquire sets bit 0
 * (an atomic OR, whatever the other bits; a no-op on a held lock), release
 * swaps "held, nobody waiting" for 0; anything else (a held lock, waiting
 * threads, a bad timeout) goes to the exported call of the same name, which
 * is always there (FFI users, function pointers, (ct_lock_acquire)(l)).
 * Compiled out under ThreadSanitizer (the exported calls carry its
 * annotations), when CT_NO_INLINE is defined, and on compilers without the
 * GCC/Clang __atomic builtins.  Bit 0 of the word is "locked"; the other bits
 * are the slow path's business. */
#define CT__LOCK_LOCKED 1u

#if defined(__SANITIZE_THREAD__)
#  define CT__LOCK_NO_INLINE 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define CT__LOCK_NO_INLINE 1
#  endif
#endif
#if !defined(CT_NO_INLINE) && !defined(CT__LOCK_NO_INLINE) && \
    (defined(__GNUC__) || defined(__clang__))

/* Inline twin of ct_lock_acquire (same contract): one atomic OR, the
 * exported call if the lock was held. */
static inline void ct__lock_acquire_inline(ct_lock_t *l)
{
    if (__builtin_expect(__atomic_fetch_or(&l->state, CT__LOCK_LOCKED, __ATOMIC_ACQUIRE) &
                         CT__LOCK_LOCKED, 0))
        (ct_lock_acquire)(l);
}

/* Inline twin of ct_lock_try_acquire (same contract): one atomic OR. */
static inline bool ct__lock_try_acquire_inline(ct_lock_t *l)
{
    return !(__atomic_fetch_or(&l->state, CT__LOCK_LOCKED, __ATOMIC_ACQUIRE) & CT__LOCK_LOCKED);
}

/* Inline twin of ct_lock_acquire_timed (same contract): one atomic OR for
 * a valid timeout, else (or if the lock was held) the exported call. */
static inline int ct__lock_acquire_timed_inline(ct_lock_t *l, int64_t timeout_ns)
{
    /* Valid timeouts only (CT_FOREVER .. CT_TIMEOUT_MAX): a bad one must
     * fail even on a free lock, which the exported call reports. */
    if (__builtin_expect(timeout_ns >= -1 && timeout_ns <= CT_TIMEOUT_MAX, 1) &&
        __builtin_expect(!(__atomic_fetch_or(&l->state, CT__LOCK_LOCKED, __ATOMIC_ACQUIRE) &
                           CT__LOCK_LOCKED), 1))
        return CT_OK;
    return (ct_lock_acquire_timed)(l, timeout_ns);
}

/* Inline twin of ct_lock_release (same contract): one CAS "held, nobody
 * waiting" -> 0, else the exported call. */
static inline int ct__lock_release_inline(ct_lock_t *l)
{
    uint32_t expected = CT__LOCK_LOCKED;
    if (__builtin_expect(__atomic_compare_exchange_n(&l->state, &expected, 0, 0,
                                                     __ATOMIC_RELEASE, __ATOMIC_RELAXED), 1))
        return CT_OK;
    return (ct_lock_release)(l);
}

#define ct_lock_acquire(l)           ct__lock_acquire_inline(l)
#define ct_lock_try_acquire(l)       ct__lock_try_acquire_inline(l)
#define ct_lock_acquire_timed(l, t)  ct__lock_acquire_timed_inline((l), (t))
#define ct_lock_release(l)           ct__lock_release_inline(l)
#endif /* inline fast paths */

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_LOCK_H */
