/* Queue: queue.Queue / LifoQueue / PriorityQueue over one Lock and per-waiter nodes.
 *
 * Fields (struct ct__queue, internal/queue.h), all guarded by `lock`:
 *   kind        CT_QUEUE_FIFO / LIFO / PRIORITY; anything else (or PRIORITY
 *               without cmp) makes every call return CT_EINVAL.
 *   shutdown    0 = open, SHUT_DRAIN or SHUT_IMMEDIATE (the last call).
 *   slots       the items: FIFO, a ring of `capacity` slots whose oldest item
 *               is slots[head]; LIFO, slots[0 .. count) with the newest last
 *               (head stays 0); PRIORITY, a binary min-heap (by cmp) in
 *               slots[0 .. count).  Grows by doubling, up to maxsize for a
 *               bounded queue, and never shrinks, so a queue at its working
 *               size allocates nothing; a failed growth changes nothing.
 *   unfinished  items put and not yet marked task_done.
 *   getters, putters, joiners
 *               the blocked callers: circular doubly-linked lists of nodes
 *               on the callers' own stacks, oldest first (head->prev is the
 *               newest).
 *
 * Invariants (every time the lock is free):
 *   (G) getters != NULL  =>  count == 0 and not shut down
 *   (P) putters != NULL  =>  bounded, count == maxsize, and not shut down
 *   (J) joiners != NULL  =>  unfinished > 0
 * A put that finds a getter waiting therefore hands its item straight to the
 * oldest one (the queue was empty, so for every kind that item is the one to
 * get next), and a get that frees a slot in a full queue moves the oldest
 * putter's item in.  Each transfer changes one node's word and wakes only
 * that thread: no thundering herd, and service in arrival order.
 *
 * Node word (struct ct__queue_waiter.state):
 *   WAITING  0  queued; its thread spins on the word
 *   SLEEPING 1  queued; its thread may sleep on the word (or does)
 *   SERVED   2  dequeued by another thread: the item was handed over (getter),
 *               taken in (putter), or the unfinished count reached 0 (joiner)
 *   SHUT     3  dequeued by a shutdown: the call fails with CT_ESHUTDOWN
 * Only the node's thread does WAITING -> SLEEPING (CAS); every other change
 * happens under the lock, with the node unlinked in the same critical
 * section, by an XCHG that reports whether the thread may sleep (then the
 * changer wakes the word).  No lost wake-up: the thread sleeps only while the
 * word is SLEEPING, which the wait layer checks atomically.  A thread whose
 * wait timed out takes the lock and finds its node either still queued (it
 * unlinks it itself: CT_ETIMEDOUT) or already SERVED/SHUT (the transfer that
 * raced its timeout stands): exactly one of the two, decided under the lock.
 *
 * Node lifetime: after the XCHG the changer never touches the node's memory,
 * only its address (the wake, done after unlocking where possible); waking an
 * address whose owner has returned is harmless in every wait backend.
 *
 * Memory orders: the lock orders the fields and the links.  A served node's
 * `item` is written before the release XCHG and read after an acquire load,
 * so a getter that never re-takes the lock still sees the item and all the
 * putter wrote before its put.
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "cthreading/queue.h"
#include "internal/shm.h"
#include "internal/atomic.h"
#include "internal/clock.h"
#include "internal/platform.h"
#include "internal/queue.h"
#include "internal/spin.h"
#include "platform/os.h"
#include "wait/wait.h"

enum { WAITING = 0, SLEEPING = 1, SERVED = 2, SHUT = 3 };
enum { SHUT_DRAIN = 1, SHUT_IMMEDIATE = 2 };

/* Capacity of the first slot array: small enough to cost nothing for a
 * queue that holds a handful of items, and doubling reaches any working size
 * in a few steps. */
#define FIRST_CAPACITY 8u

struct ct__queue_waiter {
    struct ct__queue_waiter *next, *prev;
    void *item;                  /* getter: the item handed over; putter: its item */
    uint32_t state;
};

void *(*ct__queue_realloc)(void *ptr, size_t size) = realloc;

/* Adaptive spin before a blocked caller sleeps: this thread's budget for
 * queue waits, in PAUSE rounds, with the Semaphore's growth rule
 * (internal/spin.h): a hand-off to a running partner costs ~0.1 µs when the
 * waiter spins and two wake-to-run system calls when it sleeps.  The
 * maximum is 4x the Semaphore's (~40 µs): a getter waits for a producer
 * that does work between puts, and with more threads than CPUs the item
 * that answers it often comes a time slice later.  Measured with
 * bench_queue.c's 1p/8c unbounded row (cthreading-bench --filter=queue,
 * 4-5 runs each, idle): ct/textbook 0.76-1.24 with 500 rounds, 1.29-2.16
 * with 2000; the other rows and the hand-off latencies unchanged. */
#define QUEUE_SPIN_MAX 2000u
#define QUEUE_SPIN ((struct ct__spin_bounds){ 8u, QUEUE_SPIN_MAX })
/* The rebound spin (below) is never shorter than the ordinary one. */
#define QUEUE_REBOUND ((struct ct__spin_bounds){ 16u, QUEUE_SPIN_MAX })
CT__SPIN_POLICY(spin_policy, QUEUE_SPIN_MAX);

/* The first wait after this thread woke a sleeping waiter spins on its own
 * "rebound" budget (the convoy it breaks: internal/spin.h).  Measured with
 * bench_queue.c's bounded 1p/1c row: without it the producer and the
 * consumer each wake the other and sleep again for every 16 items. */
CT__SPIN_POLICY(rebound_policy, QUEUE_SPIN_MAX);
static _Thread_local bool woke_sleeper;

static inline void wake(const uint32_t *addr)
{
    ct_wake_one(addr);
    woke_sleeper = true;
}

/* ---- the slot array (lock held) --------------------------------------------------- */

static bool valid(const struct ct__queue *q)
{
    return q->kind == CT_QUEUE_FIFO || q->kind == CT_QUEUE_LIFO ||
           (q->kind == CT_QUEUE_PRIORITY && q->cmp != NULL);
}

static bool is_full(const struct ct__queue *q)
{
    return q->maxsize != 0 && q->count >= q->maxsize;
}

/* Makes room for one more item.  Returns CT_OK or CT_ENOMEM (q unchanged). */
static int reserve(struct ct__queue *q)
{
    size_t cap = q->capacity, next;
    void **slots;

    if (q->count < cap)
        return CT_OK;
    if (cap == 0) {
        next = FIRST_CAPACITY;
    } else {
        if (cap > SIZE_MAX / 2 / sizeof(void *))
            return CT_ENOMEM;
        next = 2 * cap;
    }
    if (q->maxsize != 0 && next > q->maxsize)
        next = q->maxsize;
    slots = ct__queue_realloc(q->slots, next * sizeof(void *));
    if (slots == NULL)
        return CT_ENOMEM;
    /* A full FIFO ring that wrapped (head > 0): move its older part
     * [head, cap) to the end of the larger array, so the ring runs on from
     * there into [0, head) again. */
    if (q->kind == CT_QUEUE_FIFO && q->head > 0) {
        size_t older = cap - q->head;
        memmove(slots + next - older, slots + q->head, older * sizeof(void *));
        q->head = next - older;
    }
    q->slots = slots;
    q->capacity = next;
    return CT_OK;
}

static inline bool before(const struct ct__queue *q, void *a, void *b)
{
    return q->cmp(a, b) < 0;
}

/* Stores an item; room was reserved. */
static void store(struct ct__queue *q, void *item)
{
    void **s = q->slots;

    switch (q->kind) {
    case CT_QUEUE_FIFO: {
        size_t i = q->head + q->count;
        if (i >= q->capacity)
            i -= q->capacity;
        s[i] = item;
        break;
    }
    case CT_QUEUE_LIFO:
        s[q->count] = item;
        break;
    default: {                   /* PRIORITY: sift up */
        size_t i = q->count;
        while (i > 0) {
            size_t parent = (i - 1) / 2;
            if (!before(q, item, s[parent]))
                break;
            s[i] = s[parent];
            i = parent;
        }
        s[i] = item;
        break;
    }
    }
    q->count++;
}

/* Removes the next item; count > 0. */
static void *take(struct ct__queue *q)
{
    void **s = q->slots;
    void *item;

    switch (q->kind) {
    case CT_QUEUE_FIFO:
        item = s[q->head];
        q->head = q->head + 1 == q->capacity ? 0 : q->head + 1;
        q->count--;
        return item;
    case CT_QUEUE_LIFO:
        return s[--q->count];
    default: {                   /* PRIORITY: the root; sift the last item down */
        size_t n = --q->count, i = 0;
        void *last = s[n];
        item = s[0];
        for (;;) {
            size_t c = 2 * i + 1;
            if (c >= n)
                break;
            if (c + 1 < n && before(q, s[c + 1], s[c]))
                c++;
            if (!before(q, s[c], last))
                break;
            s[i] = s[c];
            i = c;
        }
        s[i] = last;
        return item;
    }
    }
}

/* ---- lists of blocked callers (lock held) ------------------------------------------ */

static void enqueue(struct ct__queue_waiter **list, struct ct__queue_waiter *w)
{
    struct ct__queue_waiter *h = *list;
    if (h == NULL) {
        w->next = w->prev = w;
        *list = w;
    } else {
        w->next = h;
        w->prev = h->prev;
        h->prev->next = w;
        h->prev = w;
    }
}

static void unlink_waiter(struct ct__queue_waiter **list, struct ct__queue_waiter *w)
{
    if (w->next == w) {
        *list = NULL;
    } else {
        w->prev->next = w->next;
        w->next->prev = w->prev;
        if (*list == w)
            *list = w->next;
    }
}

/* Dequeues the oldest node of a non-empty list. */
static struct ct__queue_waiter *pop_oldest(struct ct__queue_waiter **list)
{
    struct ct__queue_waiter *w = *list;
    unlink_waiter(list, w);
    return w;
}

/* Gives a dequeued node its final state.  Returns the address to wake (after
 * the caller lets go of the lock, if it can), or NULL if the node's thread is
 * still spinning.  The node's memory must not be touched afterwards. */
static const uint32_t *finish(struct ct__queue_waiter *w, uint32_t state)
{
    uint32_t old = atomic_exchange_explicit(CT__A32(&w->state), state, memory_order_release);
    return old == SLEEPING ? &w->state : NULL;
}

/* Finishes every node of a list (emptied), waking each one at once. */
static void finish_all(struct ct__queue_waiter **list, uint32_t state)
{
    struct ct__queue_waiter *first = *list, *w = first;

    if (first == NULL)
        return;
    *list = NULL;
    for (;;) {
        struct ct__queue_waiter *next = w->next;  /* read before w may vanish */
        const uint32_t *addr = finish(w, state);
        if (addr != NULL)
            ct_wake_one(addr);
        if (next == first)
            break;
        w = next;
    }
}

/* ---- waiting ---------------------------------------------------------------------------- */

/* Waits, without the lock, until the node is SERVED or SHUT or the deadline
 * passes.  Returns the node's final state, or WAITING/SLEEPING after a
 * timeout (the node may have been finished meanwhile: the caller decides
 * under the lock). */
static uint32_t park(struct ct__queue_waiter *w, int64_t deadline)
{
    _Atomic uint32_t *s = CT__A32(&w->state);
    bool rebound = woke_sleeper;
    struct ct__spin *budget_p = rebound ? &rebound_policy : &spin_policy;
    struct ct__spin_bounds bounds = rebound ? QUEUE_REBOUND : QUEUE_SPIN;
    unsigned budget = ct__spin_rounds(budget_p, bounds);
    uint32_t expected = WAITING, st;

    woke_sleeper = false;
    if (deadline != CT__NO_DEADLINE && ct__deadline_passed(deadline))
        budget = 0;
    for (unsigned i = 0; i < budget; i++) {
        if ((st = ct__load_acquire(s)) >= SERVED) {
            ct__spin_won_after(budget_p, i, bounds);
            return st;
        }
        /* A short timeout must not wait out a ~40 µs spin. */
        if ((i & 31) == 31 && deadline != CT__NO_DEADLINE && ct__deadline_passed(deadline))
            break;
        ct__cpu_relax();
    }
    if (budget > 0)
        ct__spin_slept(budget_p, bounds);
    /* Yield polls (internal/spin.h). */
    for (unsigned y = 0; y < CT__SPIN_YIELDS && !ct__deadline_passed(deadline); y++) {
        ct__os_yield();
        if ((st = ct__load_acquire(s)) >= SERVED)
            return st;
    }
    if (!atomic_compare_exchange_strong_explicit(s, &expected, SLEEPING, memory_order_acquire,
                                                 memory_order_acquire))
        return expected;                   /* finished just now */
    for (;;) {
        int rc = ct__wait_until(&w->state, SLEEPING, deadline);
        if ((st = ct__load_acquire(s)) >= SERVED)
            return st;
        if (rc == CT_ETIMEDOUT)
            return st;
    }
}

/* Blocks the caller on `list` (lock held on entry, released on return).
 * Returns SERVED or SHUT, or WAITING after a timeout (node dequeued). */
static uint32_t block(struct ct__queue *q, struct ct__queue_waiter **list, struct ct__queue_waiter *w,
                      int64_t deadline)
{
    uint32_t st;

    w->state = WAITING;
    enqueue(list, w);
    (void)ct_lock_release(&q->lock);
    st = park(w, deadline);
    if (st >= SERVED)
        return st;
    ct_lock_acquire(&q->lock);
    st = ct__load_acquire(CT__A32(&w->state));
    if (st < SERVED) {
        unlink_waiter(list, w);
        st = WAITING;
    }
    (void)ct_lock_release(&q->lock);
    return st;
}

/* ---- the calls ---------------------------------------------------------------------------- */

/* Common entry of the blocking calls: checks the timeout, takes the lock and
 * checks the queue.  Returns CT_OK with the lock held, or the error (bad
 * timeout, CT_EINVAL for a queue not initialised) with the lock not held. */
static int enter(struct ct__queue *q, int64_t timeout_ns)
{
    int rc;

    if ((rc = ct__timeout_check(timeout_ns)) != CT_OK)
        return rc;
    ct_lock_acquire(&q->lock);
    if (!valid(q)) {
        (void)ct_lock_release(&q->lock);
        return CT_EINVAL;
    }
    return CT_OK;
}

/* Hands `item` to the oldest blocked getter (lock held, getters not empty;
 * the queue is empty).  Returns what finish() returns. */
static const uint32_t *serve_getter(struct ct__queue *q, void *item)
{
    struct ct__queue_waiter *g = pop_oldest(&q->getters);
    g->item = item;
    q->unfinished++;
    return finish(g, SERVED);
}

int ct_queue_init(ct_queue_t *handle, int kind, size_t maxsize, int (*cmp)(const void *, const void *))
{
    struct ct__queue *q = ct__queue_of(handle);
    assert(q != NULL);
    if (kind != CT_QUEUE_FIFO && kind != CT_QUEUE_LIFO && kind != CT_QUEUE_PRIORITY)
        return CT_EINVAL;
    if (kind == CT_QUEUE_PRIORITY && cmp == NULL)
        return CT_EINVAL;
    if (ct__shm_contains(handle))
        return CT_EINVAL;        /* holds pointers: not inside a region (shm.h) */
    memset(q, 0, sizeof *q);
    q->kind = (uint32_t)kind;
    q->maxsize = maxsize;
    q->cmp = kind == CT_QUEUE_PRIORITY ? cmp : NULL;
    return CT_OK;
}

int ct_queue_put(ct_queue_t *handle, void *item, int64_t timeout_ns)
{
    struct ct__queue *q = ct__queue_of(handle);
    struct ct__queue_waiter w;
    const uint32_t *to_wake = NULL;
    int64_t deadline = CT__NO_DEADLINE;
    int rc;

    assert(q != NULL);
    if ((rc = enter(q, timeout_ns)) != CT_OK)
        return rc;
    if (q->shutdown) {
        rc = CT_ESHUTDOWN;
    } else if (q->getters != NULL) {
        to_wake = serve_getter(q, item);                /* (G): queue empty */
    } else if (!is_full(q)) {
        if ((rc = reserve(q)) == CT_OK) {
            store(q, item);
            q->unfinished++;
        }
    } else if (timeout_ns == 0) {
        rc = CT_ETIMEDOUT;
    } else {
        deadline = ct__deadline_of(timeout_ns);   /* validated by enter() */
        w.item = item;
        switch (block(q, &q->putters, &w, deadline)) {
        case SERVED: return CT_OK;
        case SHUT: return CT_ESHUTDOWN;
        default: return CT_ETIMEDOUT;
        }
    }
    (void)ct_lock_release(&q->lock);
    if (to_wake != NULL)
        wake(to_wake);
    return rc;
}

int ct_queue_get(ct_queue_t *handle, void **item, int64_t timeout_ns)
{
    struct ct__queue *q = ct__queue_of(handle);
    struct ct__queue_waiter w;
    const uint32_t *to_wake = NULL;
    int64_t deadline = CT__NO_DEADLINE;
    int rc;

    assert(q != NULL && item != NULL);
    if ((rc = enter(q, timeout_ns)) != CT_OK)
        return rc;
    if (q->count > 0) {
        *item = take(q);
        if (q->putters != NULL) {          /* (P): a slot just freed; room exists */
            struct ct__queue_waiter *p = pop_oldest(&q->putters);
            store(q, p->item);
            q->unfinished++;
            to_wake = finish(p, SERVED);
        }
    } else if (q->shutdown) {
        rc = CT_ESHUTDOWN;
    } else if (timeout_ns == 0) {
        rc = CT_ETIMEDOUT;
    } else {
        deadline = ct__deadline_of(timeout_ns);   /* validated by enter() */
        switch (block(q, &q->getters, &w, deadline)) {
        case SERVED:
            *item = w.item;
            return CT_OK;
        case SHUT:
            return CT_ESHUTDOWN;
        default:
            return CT_ETIMEDOUT;
        }
    }
    (void)ct_lock_release(&q->lock);
    if (to_wake != NULL)
        wake(to_wake);
    return rc;
}

size_t ct_queue_qsize(ct_queue_t *handle)
{
    struct ct__queue *q = ct__queue_of(handle);
    size_t n;

    assert(q != NULL);
    ct_lock_acquire(&q->lock);
    n = valid(q) ? q->count : 0;
    (void)ct_lock_release(&q->lock);
    return n;
}

bool ct_queue_empty(ct_queue_t *handle)
{
    return ct_queue_qsize(handle) == 0;
}

bool ct_queue_full(ct_queue_t *handle)
{
    struct ct__queue *q = ct__queue_of(handle);
    bool full;

    assert(q != NULL);
    ct_lock_acquire(&q->lock);
    full = valid(q) && is_full(q);
    (void)ct_lock_release(&q->lock);
    return full;
}

int ct_queue_task_done(ct_queue_t *handle)
{
    struct ct__queue *q = ct__queue_of(handle);
    int rc = CT_OK;

    assert(q != NULL);
    ct_lock_acquire(&q->lock);
    if (!valid(q))
        rc = CT_EINVAL;
    else if (q->unfinished == 0)
        rc = CT_EOVERFLOW;
    else if (--q->unfinished == 0)
        finish_all(&q->joiners, SERVED);
    (void)ct_lock_release(&q->lock);
    return rc;
}

int ct_queue_join(ct_queue_t *handle, int64_t timeout_ns)
{
    struct ct__queue *q = ct__queue_of(handle);
    struct ct__queue_waiter w;
    int64_t deadline = CT__NO_DEADLINE;
    int rc;

    assert(q != NULL);
    if ((rc = enter(q, timeout_ns)) != CT_OK)
        return rc;
    if (q->unfinished > 0) {
        if (timeout_ns == 0) {
            rc = CT_ETIMEDOUT;
        } else {
            deadline = ct__deadline_of(timeout_ns);   /* validated by enter() */
            w.item = NULL;
            return block(q, &q->joiners, &w, deadline) == SERVED ? CT_OK : CT_ETIMEDOUT;
        }
    }
    (void)ct_lock_release(&q->lock);
    return rc;
}

int ct_queue_shutdown(ct_queue_t *handle, bool immediate)
{
    struct ct__queue *q = ct__queue_of(handle);
    int rc = CT_OK;

    assert(q != NULL);
    ct_lock_acquire(&q->lock);
    if (!valid(q)) {
        rc = CT_EINVAL;
    } else {
        q->shutdown = immediate ? SHUT_IMMEDIATE : SHUT_DRAIN;
        finish_all(&q->getters, SHUT);
        finish_all(&q->putters, SHUT);
        if (immediate && q->count > 0) {
            size_t dropped = q->count;
            q->count = 0;
            q->head = 0;
            /* As CPython: each dropped item counts as done, never below 0
             * (task_done may have run ahead of the gets). */
            q->unfinished = dropped < q->unfinished ? q->unfinished - dropped : 0;
            if (q->unfinished == 0)
                finish_all(&q->joiners, SERVED);
        }
    }
    (void)ct_lock_release(&q->lock);
    return rc;
}

int ct_queue_destroy(ct_queue_t *handle)
{
    struct ct__queue *q = ct__queue_of(handle);
    void **slots;

    assert(q != NULL);
    ct_lock_acquire(&q->lock);
    if (!valid(q)) {
        (void)ct_lock_release(&q->lock);
        return CT_EINVAL;
    }
    if (q->getters != NULL || q->putters != NULL || q->joiners != NULL) {
        (void)ct_lock_release(&q->lock);
        return CT_EBUSY;
    }
    slots = q->slots;
    q->kind = CT_QUEUE_FIFO;
    q->shutdown = 0;
    q->slots = NULL;
    q->capacity = q->head = q->count = q->maxsize = 0;
    q->unfinished = 0;
    q->cmp = NULL;
    (void)ct_lock_release(&q->lock);
    free(slots);
    return CT_OK;
}

/* ---- white-box hooks (internal/queue.h) ------------------------------------------------------ */

size_t ct__queue_blocked(ct_queue_t *handle, enum ct__queue_list which)
{
    struct ct__queue *q = ct__queue_of(handle);
    struct ct__queue_waiter *first, *w;
    size_t n = 0;

    ct_lock_acquire(&q->lock);
    first = which == CT__QUEUE_GETTERS ? q->getters
          : which == CT__QUEUE_PUTTERS ? q->putters : q->joiners;
    if ((w = first) != NULL) {
        do {
            n++;
            w = w->next;
        } while (w != first);
    }
    (void)ct_lock_release(&q->lock);
    return n;
}

size_t ct__queue_capacity(ct_queue_t *handle)
{
    struct ct__queue *q = ct__queue_of(handle);
    size_t n;

    ct_lock_acquire(&q->lock);
    n = q->capacity;
    (void)ct_lock_release(&q->lock);
    return n;
}
