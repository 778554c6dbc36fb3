/* White-box hooks of the queue (src/queue.c), for the tests and the executor.
 *
 * Not part of the public API: internal ct__ symbols, present in static
 * builds (the test suite links the static library) and hidden in the shared
 * library.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_QUEUE_H
#define CT_INTERNAL_QUEUE_H

#include <stddef.h>
#include "cthreading/queue.h"

/* The allocator the queue grows its slot array with (realloc semantics);
 * realloc by default.  Tests swap in a failing one to reach CT_ENOMEM.  Set
 * it only while no queue is being used. */
extern void *(*ct__queue_realloc)(void *ptr, size_t size);

/* Which list of blocked callers ct__queue_blocked counts. */
enum ct__queue_list { CT__QUEUE_GETTERS, CT__QUEUE_PUTTERS, CT__QUEUE_JOINERS };

/* The number of threads queued right now in one of q's lists of blocked
 * callers (a snapshot, taken under q's lock). */
size_t ct__queue_blocked(ct_queue_t *q, enum ct__queue_list which);

/* put_nowait that also tells where the item went: *handed = CT__QUEUE_STORED
 * (into the slot array), CT__QUEUE_HANDED (straight to a blocked getter that
 * was still spinning) or CT__QUEUE_WOKE (to one that slept: it was woken).
 * Codes as ct_queue_put with a zero timeout. */
enum { CT__QUEUE_STORED = 0, CT__QUEUE_HANDED = 1, CT__QUEUE_WOKE = 2 };
int ct__queue_put_handoff(ct_queue_t *q, void *item, int *handed);

/* The capacity of q's slot array right now. */
size_t ct__queue_capacity(ct_queue_t *q);

#endif /* CT_INTERNAL_QUEUE_H */
