/* Wait backend: a portable parking table over POSIX threads.
 *
 * Addresses hash into CT__BUCKETS buckets.  Each bucket is a pthread mutex
 * and a FIFO list of the threads parked on addresses of that bucket.  Each
 * parked thread owns a node on its stack, and the node holds the thread's own
 * mutex and condition variable (on CLOCK_MONOTONIC): the bucket mutex guards
 * the list and the `queued` flags only, the node mutex guards `woken`.
 *
 * No lost wake-up: a waiter compares *addr with `expected` while holding the
 * bucket mutex and enqueues itself before it unlocks; a waker changes *addr
 * before calling ct_wake_*, which takes the same mutex, so it either finds
 * the node or the waiter saw the new value.  After the bucket is unlocked the
 * waiter sleeps on its node until `woken`, which it tests under the node
 * mutex, so a wake that comes between the two locks is not missed either.
 *
 * No wrong wake-up: waiters of different addresses may share a bucket, but
 * each sleeps on its own condition, so a wake touches only the nodes it
 * chose.  The waker unlinks them under the bucket mutex (clearing `queued`),
 * unlocks the bucket, and only then wakes each one: under the node's mutex it
 * sets `woken` and signals, so the woken threads do not pile onto a held
 * bucket mutex and waiters it did not choose never wake.
 *
 * The node lives on the waiter's stack, so the waiter may leave only once no
 * waker will touch the node again:
 * - woken: it saw `woken` under the node mutex, which the waker set, signalled
 *   and unlocked before; the waker read everything else it needs (the next
 *   node of its batch) before it took that mutex.
 * - deadline passed: it takes the bucket mutex.  If its node is still queued
 *   no waker has chosen it, none can any more: it unlinks itself and returns
 *   CT_ETIMEDOUT.  If not, a waker has chosen it and is about to set `woken`:
 *   it waits (with no deadline) for that and returns CT_OK, the wake consumed.
 *
 * fork(): the library's one atfork handler (src/fork.c) calls the hooks at
 * the end of this file: prepare takes every bucket mutex, after the
 * services' locks, so no thread is inside a bucket when the process is
 * copied; the child rebuilds the table empty (its lists hold the nodes of
 * threads that do not exist there) before any service's child hook can wake.
 * A waker of the parent that is between its bucket and its nodes when the
 * process is copied does not exist in the child, nor do the nodes it holds.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "wait.h"
#include "../internal/atomic.h"
#include "../internal/fatal.h"
#include "../internal/platform.h"
#include "../internal/fork.h"

/* 256 buckets: a few KiB, and far more buckets than the threads that park at
 * once on the machines we target, so unrelated addresses seldom share one. */
#define CT__BUCKETS 256

/* Links of a bucket's circular list; the sentinel is a bare link. */
struct link {
    struct link *next, *prev;
};

struct parked {
    struct link link;          /* first: a struct link * is the node's address */
    const uint32_t *addr;
    bool queued;               /* in its bucket's list; under the bucket mutex */
    bool woken;                /* chosen by a wake; under the node mutex */
    struct parked *batch;      /* next node of the waker's batch (waker only) */
    pthread_mutex_t mutex;
    pthread_cond_t cond;
};

struct bucket {
    _Alignas(64) pthread_mutex_t mutex;    /* no two buckets share a cache line */
    struct link head;
};

static struct bucket table[CT__BUCKETS];
static pthread_condattr_t monotonic;       /* the nodes' condition attribute */

/* The hooks at the end run from src/fork.c's atfork handler, which its
 * constructor registers: this reference links src/fork.c into any program
 * that links this backend, even one that uses no service. */
__attribute__((used)) static void (*const fork_registration)(void) = ct__fork_ready;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

#define CT__CHECK(call, what)                                                 \
    do {                                                                      \
        int ct__err_ = (call);                                                \
        if (CT__UNLIKELY(ct__err_ != 0))                                      \
            ct__fatal(what, ct__err_);                                   \
    } while (0)

/* Every mutex free, every list empty: at first use and in a fork child. */
static void table_reset(void)
{
    for (int i = 0; i < CT__BUCKETS; i++) {
        struct bucket *b = &table[i];
        CT__CHECK(pthread_mutex_init(&b->mutex, NULL), "pthread_mutex_init");
        b->head.next = b->head.prev = &b->head;
    }
}

static void table_build(void)
{
    CT__CHECK(pthread_condattr_init(&monotonic), "pthread_condattr_init");
    CT__CHECK(pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC),
              "pthread_condattr_setclock");
    table_reset();
}

static void table_ready(void)
{
    CT__CHECK(pthread_once(&table_once, table_build), "pthread_once");
}

static struct bucket *bucket_of(const uint32_t *addr)
{
    uintptr_t h = (uintptr_t)addr;
    h ^= h >> 17;
    h *= (uintptr_t)0x9E3779B97F4A7C15ull;   /* Fibonacci hashing */
    table_ready();
    return &table[(h >> 24) % CT__BUCKETS];
}

static void lock(pthread_mutex_t *m)
{
    CT__CHECK(pthread_mutex_lock(m), "pthread_mutex_lock");
}

static void unlock(pthread_mutex_t *m)
{
    CT__CHECK(pthread_mutex_unlock(m), "pthread_mutex_unlock");
}

static void unlink_node(struct parked *n)
{
    n->link.prev->next = n->link.next;
    n->link.next->prev = n->link.prev;
    n->queued = false;
}

/* Sleeps on the node's condition until woken; with a deadline, returns false
 * if it passed first.  Called and returns with the node mutex held. */
static bool sleep_until_woken(struct parked *self, const struct timespec *ts)
{
    while (!self->woken) {
        int err = ts == NULL ? pthread_cond_wait(&self->cond, &self->mutex)
                             : pthread_cond_timedwait(&self->cond, &self->mutex, ts);
        if (err == ETIMEDOUT)
            return self->woken;
        if (err != 0 && err != EINTR)
            ct__fatal(ts == NULL ? "pthread_cond_wait" : "pthread_cond_timedwait",
                           err);
    }
    return true;
}

int ct__wait_until(const uint32_t *addr, uint32_t expected, int64_t deadline)
{
    struct bucket *b = bucket_of(addr);
    struct parked self = { .addr = addr };
    struct timespec ts;
    int rc = CT_OK;

    lock(&b->mutex);
    if (ct__load_acquire(CT__A32(addr)) != expected) {
        unlock(&b->mutex);
        return CT_OK;
    }
    /* Before the node is published: nothing else can see it yet. */
    CT__CHECK(pthread_mutex_init(&self.mutex, NULL), "pthread_mutex_init");
    CT__CHECK(pthread_cond_init(&self.cond, &monotonic), "pthread_cond_init");
    self.link.prev = b->head.prev;
    self.link.next = &b->head;
    b->head.prev->next = &self.link;
    b->head.prev = &self.link;
    self.queued = true;
    unlock(&b->mutex);

    lock(&self.mutex);
    if (deadline == CT__NO_DEADLINE) {
        sleep_until_woken(&self, NULL);
    } else {
        ts = ct__timespec_from_ns(deadline);
        if (!sleep_until_woken(&self, &ts)) {
            /* Deadline passed.  Locks in the order a waker takes them
             * (bucket, then node), so drop the node mutex first. */
            unlock(&self.mutex);
            lock(&b->mutex);
            bool chosen = !self.queued;
            if (!chosen)
                unlink_node(&self);
            unlock(&b->mutex);
            lock(&self.mutex);
            if (chosen)
                sleep_until_woken(&self, NULL);   /* the waker is on its way */
            else
                rc = CT_ETIMEDOUT;
        }
    }
    unlock(&self.mutex);
    /* No waker touches the node any more (see the header comment). */
    CT__CHECK(pthread_cond_destroy(&self.cond), "pthread_cond_destroy");
    CT__CHECK(pthread_mutex_destroy(&self.mutex), "pthread_mutex_destroy");
    return rc;
}

static void wake(const uint32_t *addr, bool all)
{
    struct bucket *b = bucket_of(addr);
    struct parked *batch = NULL, **tail = &batch;

    lock(&b->mutex);
    for (struct link *l = b->head.next, *next; l != &b->head; l = next) {
        struct parked *n = (struct parked *)l;
        next = l->next;
        if (n->addr != addr)
            continue;
        unlink_node(n);
        *tail = n;
        tail = &n->batch;
        if (!all)
            break;
    }
    *tail = NULL;
    unlock(&b->mutex);

    /* The bucket is free: wake each chosen node under its own mutex. */
    for (struct parked *n = batch, *next; n != NULL; n = next) {
        next = n->batch;           /* read before n may vanish */
        lock(&n->mutex);
        n->woken = true;
        CT__CHECK(pthread_cond_signal(&n->cond), "pthread_cond_signal");
        unlock(&n->mutex);
        /* n's owner may return from here on: n is not touched again. */
    }
}

void ct_wake_one(const uint32_t *addr) { wake(addr, false); }
void ct_wake_all(const uint32_t *addr) { wake(addr, true); }

void ct__wait_fork_prepare(void)
{
    table_ready();
    for (int i = 0; i < CT__BUCKETS; i++)
        lock(&table[i].mutex);
}

void ct__wait_fork_parent(void)
{
    for (int i = CT__BUCKETS; i-- > 0;)
        unlock(&table[i].mutex);
}

void ct__wait_fork_child(void)
{
    table_reset();                 /* every mutex free, every list empty */
}

/* No waits across processes: the table lives in each process. */
bool ct__wait_can_share(void) { return false; }
