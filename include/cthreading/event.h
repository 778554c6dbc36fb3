/* cthreading — Event: Python's threading.Event as a 4-byte word.
 *
 * A flag that threads can wait on: set wakes every waiter, clear resets it.
 * Valid when zero-initialised (or CT_EVENT_INIT): clear.  Needs no destroy;
 * re-zeroing one that no thread is using resets it (after fork, say).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_EVENT_H
#define CTHREADING_EVENT_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_event {
    uint32_t state;   /* private encoding; do not touch */
} ct_event_t;

#define CT_EVENT_INIT { 0 }

/* Sets the flag and wakes every thread waiting — Event.set().  Each thread
 * that was waiting when set was called returns CT_OK, even if ct_event_clear
 * follows at once (CPython issue #13502).  Setting a set event does nothing;
 * setting one nobody sleeps on makes no system call.  Release ordering:
 * everything written before ct_event_set is visible to a waiter that returns
 * because of it.  Any thread may call it (not a signal handler: it may call
 * the wait layer). */
CT_API void ct_event_set(ct_event_t *e);

/* Clears the flag — Event.clear().  Waiters already released by a set are
 * not affected; later waits block until the next set.  Never blocks. */
CT_API void ct_event_clear(ct_event_t *e);

/* True if the flag is set right now — Event.is_set().  A snapshot.  Acquire
 * ordering when it returns true (pairs with ct_event_set). */
CT_API bool ct_event_is_set(const ct_event_t *e);

/* Waits until the flag is set — Event.wait().  Returns at once if it is set.
 * Spins briefly, then sleeps.  Acquire ordering with the set that released
 * it.  Any thread may call it. */
CT_API void ct_event_wait(ct_event_t *e);

/* Waits at most timeout_ns for the flag — Event.wait(timeout).
 * timeout_ns: relative, ns; CT_FOREVER or 0 (poll) allowed.
 * Returns CT_OK if the flag was set (at entry, or by a set during the wait,
 * even one immediately undone by clear, or one racing with the timeout),
 * CT_ETIMEDOUT if not, CT_EINVAL (negative timeout other than CT_FOREVER) or
 * CT_EOVERFLOW (above CT_TIMEOUT_MAX; nothing is waited for). */
CT_API int ct_event_wait_timed(ct_event_t *e, int64_t timeout_ns);

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_EVENT_H */
