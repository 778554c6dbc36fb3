/* cthreading — Semaphore: Python's threading.Semaphore and BoundedSemaphore.
 *
 * A counter of permits: acquire takes one (waiting while there is none),
 * release gives n back.  Not owned: any thread may release.  A bounded
 * semaphore refuses a release that would take its value above the value it
 * was initialised with.
 *
 * 16 bytes.  Valid when zero-initialised (or CT_SEM_INIT): value 0,
 * unbounded.  Needs no destroy; re-zeroing one that no thread is using
 * resets it (after fork, say).  Values are int64_t, from 0 to INT64_MAX.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_SEM_H
#define CTHREADING_SEM_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_sem {
    uint64_t state;   /* the value and a sleepers bit (private) */
    uint64_t bound;   /* 0: unbounded, else a flag bit and the bound */
} ct_sem_t;

#define CT_SEM_INIT { 0, 0 }

/* Makes s an unbounded semaphore with `value` permits — Semaphore(value).
 * value: 0 .. INT64_MAX.  Returns CT_OK, or CT_EINVAL if value < 0 (s is
 * left untouched).  Call it before any other thread uses s: it is a plain
 * initialisation, not synchronised with concurrent calls on s. */
CT_API int ct_sem_init(ct_sem_t *s, int64_t value);

/* Makes s a bounded semaphore — BoundedSemaphore(value): `value` permits,
 * and ct_sem_release refuses to go above `value`.  value: 0 .. INT64_MAX.
 * Returns CT_OK, or CT_EINVAL if value < 0 (s is left untouched).  Same
 * rules as ct_sem_init for when to call it. */
CT_API int ct_sem_init_bounded(ct_sem_t *s, int64_t value);

/* Takes one permit, waiting as long as needed — Semaphore.acquire().
 * Spins briefly, then sleeps.  Always returns CT_OK.  Acquire ordering:
 * everything a thread wrote before the ct_sem_release that made the permit
 * available is visible to the caller afterwards.  Any thread may call it. */
CT_API int ct_sem_acquire(ct_sem_t *s);

/* Takes one permit only if one is available right now —
 * Semaphore.acquire(blocking=False).  Returns true if it took one.  Never
 * blocks.  Same ordering as ct_sem_acquire on success. */
CT_API bool ct_sem_try_acquire(ct_sem_t *s);

/* Takes one permit, waiting at most timeout_ns — Semaphore.acquire(timeout=t).
 * timeout_ns: relative, ns; CT_FOREVER or 0 allowed.
 * Returns CT_OK (one permit taken), CT_ETIMEDOUT (none taken), CT_EINVAL
 * (negative timeout other than CT_FOREVER) or CT_EOVERFLOW (timeout above
 * CT_TIMEOUT_MAX); on an error nothing is taken and nothing waited for. */
CT_API int ct_sem_acquire_timed(ct_sem_t *s, int64_t timeout_ns);

/* Gives back n permits and wakes up to n sleeping acquirers —
 * Semaphore.release(n).  Releasing 1 wakes at most one thread; with nobody
 * sleeping it makes no system call.  Any thread may call it.
 * Returns CT_OK; CT_EINVAL if n < 1; CT_EOVERFLOW if s is bounded and its
 * value would exceed the initial value (BoundedSemaphore's ValueError), or if
 * the value would exceed INT64_MAX.  On an error nothing is released: the
 * check and the update are one atomic step, even when releases race.
 * Release ordering: pairs with the acquire that takes these permits. */
CT_API int ct_sem_release(ct_sem_t *s, int64_t n);

/* The number of permits available right now (Semaphore._value).  A snapshot:
 * it may change as soon as it is returned. */
CT_API int64_t ct_sem_value(const ct_sem_t *s);

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_SEM_H */
