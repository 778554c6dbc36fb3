/* cthreading — ShmQueue: Python's multiprocessing.Queue, for shared memory.
 *
 * A bounded FIFO of fixed-size items that are copied in and out, so that no
 * pointer crosses a process: the queue, its capacity, its item size and its
 * storage all live in one block of memory the caller provides — usually
 * inside a region of shared memory (<cthreading/shm.h>), where the queue then
 * works between every process that mapped the region, at whatever address
 * each mapped it.  It also works in ordinary memory (between threads), on
 * every platform.  Where Python's Queue pickles an object, put copies
 * ct_shm_queue_item_size bytes from the caller and get copies them out.
 *
 * Built from the library's own primitives placed inside the queue (a Lock
 * guarding the ring and two Conditions bound to it, not-empty and not-full),
 * so it crosses processes exactly as they do and its storage is addressed by
 * offsets only.  Lay it out with ct_shm_queue_bytes and ct_shm_queue_init;
 * it needs no destroy (it owns nothing but the block).
 *
 * Order: FIFO is exact (the order in which puts took the queue's lock); the
 * order in which blocked callers are served is not specified (in a region a
 * Condition wakes in no particular order).  Memory order: everything a
 * thread wrote before its put of an item is visible to the thread whose get
 * returned that item, in any process.  Items are copied while the queue's
 * lock is held: keep them small (copy a handle or an offset into the region
 * for big data).
 *
 * Timeouts, the shutdown (Python 3.13's Queue.shutdown) and the codes follow
 * ct_queue_t (<cthreading/queue.h>): CT_ETIMEDOUT means full (put) or empty
 * (get).  There is no task_done/join (multiprocessing.Queue has none).
 *
 * Across processes: a process that dies inside a put or get (holding the
 * queue's Lock for the few instructions of a copy) is not detected — the
 * others' calls with a timeout return CT_ETIMEDOUT (see <cthreading/shm.h>).
 * A process killed while it waits in put or get leaves the queue intact.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_SHM_QUEUE_H
#define CTHREADING_SHM_QUEUE_H

#include <stddef.h>
#include "base.h"
#include "lock.h"
#include "cond.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The queue's header at the start of its block; the item slots follow it.
 * Treat as opaque: the fields are guarded by `lock`, described in
 * src/shm_queue.c, and hold no pointer. */
typedef struct ct_shm_queue {
    ct_lock_t lock;
    uint32_t magic;                /* set by ct_shm_queue_init; else misuse */
    uint32_t shutdown;             /* 0, or how the queue was shut down */
    uint32_t reserved;
    uint64_t capacity, item_size;  /* fixed at init */
    uint64_t head, tail;           /* items got / put so far */
    uint64_t storage;              /* offset of slot 0 from the queue */
    ct_cond_t not_empty, not_full; /* bound to lock */
} ct_shm_queue_t;

/* The number of bytes a queue of `capacity` items of `item_size` bytes each
 * needs, header and storage together — what to reserve in a region and pass
 * to ct_shm_queue_init.  Returns 0 if capacity or item_size is 0 or the size
 * would not fit in a size_t. */
CT_API size_t ct_shm_queue_bytes(size_t capacity, size_t item_size);

/* Makes the `bytes` bytes at q a new, empty queue of `capacity` items of
 * `item_size` bytes — multiprocessing.Queue(maxsize), with a fixed item size.
 * q: 8-byte aligned (a region's base is 64-byte aligned), usually inside a
 * region so that other processes can use it.  Only the header is written;
 * the slots are left as they are.  Returns CT_OK, or CT_EINVAL (q and its
 * memory unchanged) if capacity or item_size is 0, if bytes is smaller than
 * ct_shm_queue_bytes(capacity, item_size) (which is 0 on overflow), or if q
 * is misaligned.  q must not be in use: init it once, before any process or
 * thread calls it. */
CT_API int ct_shm_queue_init(ct_shm_queue_t *q, size_t bytes, size_t capacity,
                             size_t item_size);

/* Copies ct_shm_queue_item_size(q) bytes from `item` into the queue —
 * Queue.put(obj, block, timeout).
 *
 * timeout_ns: how long to wait for a free slot when the queue is full:
 *             relative ns, CT_FOREVER, or 0 (= put_nowait: never blocks).
 * Returns CT_OK (copied in); CT_ETIMEDOUT (the queue stayed full); CT_ESHUTDOWN
 * (the queue was shut down before the item went in, also while this call
 * waited); CT_EINVAL / CT_EOVERFLOW for a bad timeout, checked before
 * anything else; CT_EINVAL for a queue that was never initialised; CT_EAGAIN
 * (inside a region only: 65535 threads already wait on the queue).  On every
 * error nothing was copied and the queue is unchanged.  Any thread of any
 * process that mapped the queue may call it. */
CT_API int ct_shm_queue_put(ct_shm_queue_t *q, const void *item, int64_t timeout_ns);

/* Removes the oldest item and copies its ct_shm_queue_item_size(q) bytes to
 * `out` — Queue.get(block, timeout).
 *
 * out:        written only on CT_OK.
 * timeout_ns: how long to wait for an item when the queue is empty:
 *             relative ns, CT_FOREVER, or 0 (= get_nowait: never blocks).
 * Returns CT_OK; CT_ETIMEDOUT (still empty); CT_ESHUTDOWN (shut down and
 * empty: after a non-immediate shutdown the items left are still got first;
 * this takes precedence over CT_ETIMEDOUT); CT_EINVAL / CT_EOVERFLOW for a
 * bad timeout, checked first (even with an item ready); CT_EINVAL for a queue
 * never initialised; CT_EAGAIN as for put.  On every error the queue is
 * unchanged.  Any thread of any process may call it. */
CT_API int ct_shm_queue_get(ct_shm_queue_t *q, void *out, int64_t timeout_ns);

/* The number of items in the queue — Queue.qsize().  A snapshot; 0 for a
 * queue never initialised. */
CT_API size_t ct_shm_queue_qsize(ct_shm_queue_t *q);

/* True if the queue holds no item — Queue.empty().  A snapshot (true for a
 * queue never initialised). */
CT_API bool ct_shm_queue_empty(ct_shm_queue_t *q);

/* True if the queue holds `capacity` items — Queue.full().  A snapshot
 * (false for a queue never initialised). */
CT_API bool ct_shm_queue_full(ct_shm_queue_t *q);

/* The capacity and the item size given to ct_shm_queue_init (Queue._maxsize);
 * 0 for a queue never initialised.  Constant: read without the lock. */
CT_API size_t ct_shm_queue_capacity(const ct_shm_queue_t *q);
CT_API size_t ct_shm_queue_item_size(const ct_shm_queue_t *q);

/* Shuts the queue down — Queue.shutdown(immediate) (Python 3.13's
 * queue.Queue; multiprocessing.Queue's close() is the nearest twin).
 * From now on every put fails with CT_ESHUTDOWN, in every process.
 * immediate = false: gets still return the items left, then fail with
 * CT_ESHUTDOWN.  immediate = true: the items left are dropped and gets fail
 * at once.  Every blocked putter and getter wakes with CT_ESHUTDOWN (a
 * blocked getter of a non-immediate shutdown first takes any item left).
 * May be called again (an immediate call after a non-immediate one drops
 * what is left).  Returns CT_OK, or CT_EINVAL for a queue never
 * initialised.  Any thread of any process may call it. */
CT_API int ct_shm_queue_shutdown(ct_shm_queue_t *q, bool immediate);

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_SHM_QUEUE_H */
