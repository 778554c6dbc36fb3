/* cthreading — Queue: Python's queue.Queue, LifoQueue and PriorityQueue.
 *
 * A thread-safe queue of `void *` items (NULL is a valid item), FIFO, LIFO or
 * priority-ordered, bounded or unbounded, with the task_done/join protocol
 * and Python 3.13's shutdown.  Valid when zero-initialised (or CT_QUEUE_INIT):
 * that is an unbounded FIFO, like Queue().
 *
 * Resources: the queue owns one array of item slots, grown by doubling as
 * items arrive (up to maxsize for a bounded queue) and never shrunk; once it
 * has grown to its working size, put and get allocate nothing.  Release it
 * with ct_queue_destroy.  Blocked callers wait on nodes on their own stacks.
 *
 * Order and fairness: FIFO order is exact; blocked getters are served oldest
 * first, each by the put that feeds it (the item is handed straight to the
 * oldest waiting getter, and only that getter wakes); blocked putters enter
 * oldest first as slots free up.  Per queue, the timeouts, the shutdown and
 * the codes follow the conventions of cthreading/base.h.
 *
 * Memory order: everything a thread wrote before its put of an item is
 * visible to the thread whose get returned that item; everything written
 * before a task_done is visible to a join that returned because of it.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_QUEUE_H
#define CTHREADING_QUEUE_H

#include <stddef.h>
#include "base.h"
#include "lock.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Kinds of queue (ct_queue_init's `kind`). */
#define CT_QUEUE_FIFO     0  /* queue.Queue: first in, first out */
#define CT_QUEUE_LIFO     1  /* queue.LifoQueue: last in, first out */
#define CT_QUEUE_PRIORITY 2  /* queue.PriorityQueue: smallest item (by cmp) first */

/* A queue: caller-owned storage.  Valid when zero-initialised (or
 * CT_QUEUE_INIT: an empty, unbounded FIFO); opaque, the library alone reads
 * and writes it.  96 bytes, aligned for 64-bit words. */
typedef struct ct_queue {
    uint64_t opaque_[12];
} ct_queue_t;

#define CT_QUEUE_INIT { { 0 } }

/* Makes q a new, empty queue — Queue(maxsize) / LifoQueue(maxsize) /
 * PriorityQueue(maxsize).
 *
 * kind:    CT_QUEUE_FIFO, CT_QUEUE_LIFO or CT_QUEUE_PRIORITY.
 * maxsize: the most items the queue holds; 0 = unbounded.
 * cmp:     for CT_QUEUE_PRIORITY (required there; ignored otherwise):
 *          cmp(a, b) receives two items themselves and returns < 0, 0 or > 0
 *          as a orders before, with or after b; the smallest item is got
 *          first, as heapq.  Equal items come out in no particular order (as
 *          in Python: put (priority, sequence) pairs for FIFO among equals).
 *          It runs with the queue's lock held: it must not call the queue.
 *
 * Allocates nothing (the first put does).  Returns CT_OK, or CT_EINVAL for
 * an unknown kind or a PRIORITY queue without cmp (q is then unchanged).
 * q must not be in use: zero-initialised, destroyed, or never initialised;
 * re-initialising a queue that holds a buffer leaks it. */
CT_API int ct_queue_init(ct_queue_t *q, int kind, size_t maxsize,
                         int (*cmp)(const void *, const void *));

/* Puts an item into the queue — Queue.put(item, block, timeout).
 *
 * timeout_ns: how long to wait for a free slot when the queue is full:
 *             relative ns, CT_FOREVER, or 0 (= put_nowait: never blocks).
 * Returns CT_OK (queued, or handed to a waiting getter); CT_ETIMEDOUT (the
 * queue stayed full; nothing queued); CT_ESHUTDOWN (the queue was shut down
 * before the item could be queued, also while this call waited); CT_ENOMEM
 * (the slot array could not grow; nothing queued); CT_EINVAL / CT_EOVERFLOW
 * for a bad timeout, checked before anything else; CT_EINVAL for a queue with
 * a bad kind.  An item put counts towards task_done/join.  Any thread may
 * call it. */
CT_API int ct_queue_put(ct_queue_t *q, void *item, int64_t timeout_ns);

/* Removes and returns the next item — Queue.get(block, timeout).
 *
 * item:       where the item is stored (written only on CT_OK).
 * timeout_ns: how long to wait for an item when the queue is empty:
 *             relative ns, CT_FOREVER, or 0 (= get_nowait: never blocks).
 * Returns CT_OK; CT_ETIMEDOUT (still empty); CT_ESHUTDOWN (the queue was
 * shut down and is empty: after a non-immediate shutdown the items left are
 * still got first; this takes precedence over CT_ETIMEDOUT, as in Python);
 * CT_EINVAL / CT_EOVERFLOW for a bad timeout, checked first (even with an
 * item ready); CT_EINVAL for a queue with a bad kind.  Any thread may call it. */
CT_API int ct_queue_get(ct_queue_t *q, void **item, int64_t timeout_ns);

/* The number of items in the queue — Queue.qsize().  A snapshot.  A queue
 * with a bad kind reads as 0. */
CT_API size_t ct_queue_qsize(ct_queue_t *q);

/* True if the queue holds no item — Queue.empty().  A snapshot. */
CT_API bool ct_queue_empty(ct_queue_t *q);

/* True if a bounded queue holds maxsize items — Queue.full().  An unbounded
 * queue is never full.  A snapshot. */
CT_API bool ct_queue_full(ct_queue_t *q);

/* Marks one item got earlier as processed — Queue.task_done().  When every
 * item put so far has been marked, every ct_queue_join returns.
 * Returns CT_OK; CT_EOVERFLOW if called more times than items were put (the
 * count stays at 0; Python's ValueError); CT_EINVAL for a bad kind.  Any
 * thread may call it, also after a shutdown. */
CT_API int ct_queue_task_done(ct_queue_t *q);

/* Waits until every item put has been marked done — Queue.join(), with a
 * timeout Python lacks.  timeout_ns: relative ns, CT_FOREVER, or 0 (poll).
 * Returns CT_OK (no unfinished item); CT_ETIMEDOUT; CT_EINVAL / CT_EOVERFLOW
 * for a bad timeout; CT_EINVAL for a bad kind.  A shutdown does not end a
 * join by itself: after a non-immediate shutdown it still waits for the
 * task_done calls; an immediate shutdown counts the items it drops as done. */
CT_API int ct_queue_join(ct_queue_t *q, int64_t timeout_ns);

/* Shuts the queue down — Queue.shutdown(immediate) (Python 3.13).
 * From now on every put fails with CT_ESHUTDOWN.  immediate = false: gets
 * still return the items left, then fail with CT_ESHUTDOWN.  immediate =
 * true: the items left are dropped (not freed: they are the caller's) and
 * counted as done for join, and gets fail at once.  Every blocked putter and
 * every blocked getter wakes with CT_ESHUTDOWN; joiners wake when the
 * unfinished count reaches 0.  May be called again (an immediate call after a
 * non-immediate one drops what is left).  Returns CT_OK, or CT_EINVAL for a
 * bad kind.  Any thread may call it. */
CT_API int ct_queue_shutdown(ct_queue_t *q, bool immediate);

/* Releases the queue's slot array and leaves q zero-initialised (an empty,
 * unbounded FIFO, usable again or ready to be freed).  Items still queued
 * are dropped (not freed).  Returns CT_OK, or CT_EBUSY (nothing changed)
 * while any thread is blocked in a put, get or join on q.  No thread may be
 * inside, or start, another call on q meanwhile. */
CT_API int ct_queue_destroy(ct_queue_t *q);

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_QUEUE_H */
