/* ShmQueue: multiprocessing.Queue as a ring of fixed-size slots, copied in and out.
 *
 * Layout of the block at q (ct_shm_queue_bytes):
 *   [0, HEADER)                         the ct_shm_queue_t, padded to 64 bytes
 *   [storage, storage + capacity * item_size)   the slots; storage == HEADER
 * Every reference is an offset from q or an index, so the block works at any
 * address in every process that maps it.
 *
 * Fields, all guarded by `lock` except the constants:
 *   magic       QUEUE_MAGIC once initialised (written last by init); any other
 *               value is a queue never initialised: CT_EINVAL, nothing touched.
 *   capacity, item_size, storage   constants after init.
 *   head, tail  how many items were got and put since init (64-bit counters,
 *               never wrapping in practice: 2^64 operations).  The queue holds
 *               tail - head items (0 .. capacity); the oldest is in slot
 *               head % capacity, the next put goes to slot tail % capacity.
 *   shutdown    0 open; SHUT_DRAIN after shutdown(false); SHUT_NOW after
 *               shutdown(true) (which also sets head = tail).  Only grows.
 *   not_empty   Condition bound to lock: getters wait on it; every put notifies 1.
 *   not_full    Condition bound to lock: putters wait on it; every get notifies 1.
 *
 * No lost wake-up: a waiter checks the state and registers with the
 * Condition under the lock, and the Condition never loses a notification that
 * meets a timeout (cond.h).  A woken caller re-checks the state (another
 * caller may have barged in, and in a region a notify may wake more threads
 * than asked): every put notifies once, so for each item there is either a
 * getter woken for it or one that took it without waiting.  A waiter that
 * timed out still re-checks once, so an item or slot that arrived at the
 * last moment is used rather than reported as a timeout (as Python does).
 * Shutdown notifies everybody; shut-down checks come before waits.
 *
 * Error paths change nothing: a put copies and advances tail only on success,
 * a get copies out and advances head only on success, and nothing else is
 * written before the outcome is known.
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "cthreading/shm_queue.h"
#include "internal/clock.h"

#define QUEUE_MAGIC 0x51554555u /* "QUEU" */

enum { SHUT_OPEN = 0, SHUT_DRAIN = 1, SHUT_NOW = 2 };

/* The header, padded to a cache line so the slots start on one. */
#define HEADER ((sizeof(ct_shm_queue_t) + 63u) & ~(size_t)63u)

static inline bool valid(const ct_shm_queue_t *q) { return q->magic == QUEUE_MAGIC; }

static inline unsigned char *slot(ct_shm_queue_t *q, uint64_t n)
{
    return (unsigned char *)q + q->storage + (size_t)(n % q->capacity) * (size_t)q->item_size;
}

size_t ct_shm_queue_bytes(size_t capacity, size_t item_size)
{
    if (capacity == 0 || item_size == 0 || capacity > (SIZE_MAX - HEADER) / item_size)
        return 0;
    return HEADER + capacity * item_size;
}

int ct_shm_queue_init(ct_shm_queue_t *q, size_t bytes, size_t capacity, size_t item_size)
{
    size_t need = ct_shm_queue_bytes(capacity, item_size);

    assert(q != NULL);
    if (need == 0 || bytes < need || (uintptr_t)q % 8u != 0)
        return CT_EINVAL;
    memset(q, 0, sizeof *q);
    q->capacity = capacity;
    q->item_size = item_size;
    q->storage = HEADER;
    ct_cond_init(&q->not_empty, &q->lock);
    ct_cond_init(&q->not_full, &q->lock);
    q->magic = QUEUE_MAGIC;
    return CT_OK;
}

/* Waits on c (lock held) for the time left until deadline, computing the
 * deadline on the first wait.  Returns CT_OK (woken or timed out: the caller
 * re-checks the state), CT_ETIMEDOUT (the deadline had passed already: no
 * wait) or CT_EAGAIN (the Condition refused another waiter). */
static int wait_on(ct_cond_t *c, int64_t timeout_ns, int64_t *deadline)
{
    int64_t left = CT_FOREVER;
    int rc;

    if (*deadline == 0)
        *deadline = ct__deadline_of(timeout_ns);
    if (*deadline != CT__NO_DEADLINE) {
        left = *deadline - ct__now_ns();
        if (left <= 0)
            return CT_ETIMEDOUT;
    }
    rc = ct_cond_wait_timed(c, left);
    return rc == CT_EAGAIN ? CT_EAGAIN : CT_OK;
}

int ct_shm_queue_put(ct_shm_queue_t *q, const void *item, int64_t timeout_ns)
{
    int64_t deadline = 0; /* not computed yet */
    int rc;

    assert(q != NULL && item != NULL);
    if ((rc = ct__timeout_check(timeout_ns)) != CT_OK)
        return rc;
    if (!valid(q))
        return CT_EINVAL;
    ct_lock_acquire(&q->lock);
    for (;;) {
        if (q->shutdown != SHUT_OPEN) {
            rc = CT_ESHUTDOWN;
            break;
        }
        if (q->tail - q->head < q->capacity) {
            memcpy(slot(q, q->tail), item, (size_t)q->item_size);
            q->tail++;
            (void)ct_cond_notify(&q->not_empty, 1);
            rc = CT_OK;
            break;
        }
        if (timeout_ns == 0) {
            rc = CT_ETIMEDOUT;
            break;
        }
        if ((rc = wait_on(&q->not_full, timeout_ns, &deadline)) != CT_OK)
            break;
    }
    (void)ct_lock_release(&q->lock);
    return rc;
}

int ct_shm_queue_get(ct_shm_queue_t *q, void *out, int64_t timeout_ns)
{
    int64_t deadline = 0; /* not computed yet */
    int rc;

    assert(q != NULL && out != NULL);
    if ((rc = ct__timeout_check(timeout_ns)) != CT_OK)
        return rc;
    if (!valid(q))
        return CT_EINVAL;
    ct_lock_acquire(&q->lock);
    for (;;) {
        if (q->tail != q->head) {
            memcpy(out, slot(q, q->head), (size_t)q->item_size);
            q->head++;
            (void)ct_cond_notify(&q->not_full, 1);
            rc = CT_OK;
            break;
        }
        if (q->shutdown != SHUT_OPEN) {
            rc = CT_ESHUTDOWN;
            break;
        }
        if (timeout_ns == 0) {
            rc = CT_ETIMEDOUT;
            break;
        }
        if ((rc = wait_on(&q->not_empty, timeout_ns, &deadline)) != CT_OK)
            break;
    }
    (void)ct_lock_release(&q->lock);
    return rc;
}

size_t ct_shm_queue_qsize(ct_shm_queue_t *q)
{
    uint64_t n;

    assert(q != NULL);
    if (!valid(q))
        return 0;
    ct_lock_acquire(&q->lock);
    n = q->tail - q->head;
    (void)ct_lock_release(&q->lock);
    return (size_t)n;
}

bool ct_shm_queue_empty(ct_shm_queue_t *q) { return ct_shm_queue_qsize(q) == 0; }

bool ct_shm_queue_full(ct_shm_queue_t *q)
{
    return valid(q) && ct_shm_queue_qsize(q) >= q->capacity;
}

size_t ct_shm_queue_capacity(const ct_shm_queue_t *q)
{
    assert(q != NULL);
    return valid(q) ? (size_t)q->capacity : 0;
}

size_t ct_shm_queue_item_size(const ct_shm_queue_t *q)
{
    assert(q != NULL);
    return valid(q) ? (size_t)q->item_size : 0;
}

int ct_shm_queue_shutdown(ct_shm_queue_t *q, bool immediate)
{
    assert(q != NULL);
    if (!valid(q))
        return CT_EINVAL;
    ct_lock_acquire(&q->lock);
    if (immediate) {
        q->shutdown = SHUT_NOW;
        q->head = q->tail;
    } else if (q->shutdown == SHUT_OPEN) {
        q->shutdown = SHUT_DRAIN;
    }
    (void)ct_cond_notify_all(&q->not_empty);
    (void)ct_cond_notify_all(&q->not_full);
    (void)ct_lock_release(&q->lock);
    return CT_OK;
}
