/* The real layout of a Queue, behind the opaque ct_queue_t, and the
 * white-box hooks of src/queue.c, for the tests and the executor.
 *
 * Not part of the public API: the hooks are internal ct__ symbols, present in
 * static builds (the test suite links the static library) and hidden in the
 * shared library.  What each field holds and the invariants between them:
 * the top of src/queue.c.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_QUEUE_H
#define CT_INTERNAL_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "cthreading/lock.h"
#include "cthreading/queue.h"

struct ct__queue_waiter;

/* All fields are guarded by `lock`; a zeroed struct is an empty, unbounded
 * FIFO (CT_QUEUE_INIT). */
struct ct__queue {
    ct_lock_t lock;
    uint32_t kind;                 /* CT_QUEUE_*; anything else is misuse */
    uint32_t shutdown;             /* 0, or how the queue was shut down */
    void **slots;                  /* the ring buffer (FIFO, LIFO) or heap (PRIORITY) */
    size_t capacity, head, count, maxsize;
    uint64_t unfinished;           /* items put and not yet marked task_done */
    int (*cmp)(const void *, const void *);
    struct ct__queue_waiter *getters, *putters, *joiners;  /* blocked callers */
};

_Static_assert(sizeof(struct ct__queue) <= sizeof(ct_queue_t),
               "ct_queue_t's opaque storage must hold the queue");
_Static_assert(_Alignof(struct ct__queue) <= _Alignof(ct_queue_t),
               "ct_queue_t's opaque storage must be aligned for the queue");

/* The queue behind a public ct_queue_t (NULL stays NULL). */
static inline struct ct__queue *ct__queue_of(const ct_queue_t *q)
{
    return (struct ct__queue *)(void *)(uintptr_t)q;
}

/* The allocator the queue grows its slot array with (realloc semantics);
 * realloc by default.  Tests swap in a failing one to reach CT_ENOMEM.  Set
 * it only while no queue is being used. */
extern void *(*ct__queue_realloc)(void *ptr, size_t size);

/* Which list of blocked callers ct__queue_blocked counts. */
enum ct__queue_list { CT__QUEUE_GETTERS, CT__QUEUE_PUTTERS, CT__QUEUE_JOINERS };

/* The number of threads queued right now in one of q's lists of blocked
 * callers (a snapshot, taken under q's lock). */
size_t ct__queue_blocked(ct_queue_t *q, enum ct__queue_list which);

/* The capacity of q's slot array right now. */
size_t ct__queue_capacity(ct_queue_t *q);

#endif /* CT_INTERNAL_QUEUE_H */
