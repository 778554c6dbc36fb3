/* cthreading — Barrier: Python's threading.Barrier.
 *
 * `parties` threads meet: each ct_barrier_wait blocks until all have arrived,
 * then all leave together, and the barrier is ready for the next round (a
 * "generation").  Reusable for any number of generations; no allocation.
 *
 * States, as in CPython: filling (threads arriving), resetting
 * (ct_barrier_reset broke the waiters; new arrivals wait until they have
 * left) and broken (every wait fails with CT_EBROKEN until
 * ct_barrier_reset).  CPython's "draining" state is not needed: threads
 * released from one generation cannot be confused with arrivals of the next
 * (a generation count in the state word), so the next generation may start
 * filling at once.
 *
 * 32 bytes on 64-bit platforms.  Needs ct_barrier_init (not valid when
 * zeroed); needs no destroy.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_BARRIER_H
#define CTHREADING_BARRIER_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_barrier {
    int (*action)(void *);       /* run by the last arrival, or NULL */
    void *arg;                   /* its argument */
    int64_t default_timeout_ns;  /* used by ct_barrier_wait */
    uint32_t parties;
    uint32_t state;              /* private encoding; do not touch */
} ct_barrier_t;

/* The largest number of parties (the arrival count shares a 32-bit word
 * with the state bits and a generation number). */
#define CT_BARRIER_PARTIES_MAX 65535u

/* Initialises b — Barrier(parties, action, timeout).
 * parties: 1 .. CT_BARRIER_PARTIES_MAX threads per generation.
 * action: NULL, or a function the last arrival of each generation calls with
 *   `arg` before any thread of that generation is released; a non-zero
 *   result breaks the barrier (as an exception in the Python action does).
 * default_timeout_ns: the timeout ct_barrier_wait uses (CT_FOREVER for none).
 * Returns CT_OK; CT_EINVAL if parties < 1 or > CT_BARRIER_PARTIES_MAX, or if
 * default_timeout_ns is a negative value other than CT_FOREVER; CT_EOVERFLOW
 * if default_timeout_ns > CT_TIMEOUT_MAX.  On an error b is untouched.  Call
 * it while no thread uses b. */
CT_API int ct_barrier_init(ct_barrier_t *b, unsigned parties, int (*action)(void *),
                           void *arg, int64_t default_timeout_ns);

/* Waits for all parties — Barrier.wait().  Uses the default timeout given to
 * ct_barrier_init.  Returns the caller's arrival index in [0, parties) (the
 * first to arrive gets 0, the last parties - 1), or:
 *   CT_EBROKEN    the barrier is broken, or was broken or reset while the
 *                 caller waited, or the action (run by this caller) failed;
 *   CT_ETIMEDOUT  the caller's timeout expired; the barrier is now broken and
 *                 every other waiter gets CT_EBROKEN;
 *   CT_EINVAL     b was never initialised (zeroed): returns at once, nothing
 *                 changed (checked in every build).
 * A thread arriving while a reset is in progress or while the action runs
 * waits (untimed, as in CPython) until that is over.  The action is atomic
 * with its release, as in CPython: a waiter whose timeout expires while the
 * action runs waits for it, and a generation whose action succeeded is
 * released (a reset or abort from another thread waits for that release).
 * Everything written by any party before its wait and by the action is
 * visible to every party after a successful wait. */
CT_API int ct_barrier_wait(ct_barrier_t *b);

/* Barrier.wait(timeout): as ct_barrier_wait with an explicit timeout.
 * timeout_ns: relative, ns; CT_FOREVER or 0 allowed.  Also returns CT_EINVAL
 * (negative timeout other than CT_FOREVER) or CT_EOVERFLOW (above
 * CT_TIMEOUT_MAX) without arriving. */
CT_API int ct_barrier_wait_timed(ct_barrier_t *b, int64_t timeout_ns);

/* Returns the barrier to its empty state — Barrier.reset().  Threads waiting
 * in the current generation return CT_EBROKEN; once they have left, the
 * barrier is usable again (also after ct_barrier_abort or a timeout).
 * Blocks only while another thread runs the action: then it waits for that
 * generation's release and resets the next one (as CPython's reset waits for
 * the barrier's lock); from inside the action it applies at once (that
 * generation fails with CT_EBROKEN).  Any thread may call it. */
CT_API void ct_barrier_reset(ct_barrier_t *b);

/* Breaks the barrier — Barrier.abort().  Current and future waits return
 * CT_EBROKEN until ct_barrier_reset.  Blocks only while another thread runs
 * the action, as ct_barrier_reset.  Any thread may call it. */
CT_API void ct_barrier_abort(ct_barrier_t *b);

/* True if the barrier is broken — Barrier.broken.  A snapshot. */
CT_API bool ct_barrier_broken(const ct_barrier_t *b);

/* The number of threads per generation — Barrier.parties. */
CT_API unsigned ct_barrier_parties(const ct_barrier_t *b);

/* The number of threads waiting in the current generation right now —
 * Barrier.n_waiting (0 while the action runs, or the barrier resets or is
 * broken).  A snapshot. */
CT_API unsigned ct_barrier_n_waiting(const ct_barrier_t *b);

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_BARRIER_H */
