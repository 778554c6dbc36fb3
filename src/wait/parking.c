/* Wait backend: a portable parking table over POSIX threads.
 *
 * Addresses hash into CT__BUCKETS buckets.  Each bucket is a pthread mutex, a
 * condition variable on CLOCK_MONOTONIC and a FIFO list of the threads parked
 * on addresses of that bucket; each parked thread owns a node on its stack.
 *
 * No lost wake-up: a waiter compares *addr with `expected` while holding the
 * bucket mutex and enqueues itself before it unlocks; a waker changes *addr
 * before calling ct_wake_*, which takes the same mutex, so it either sees the
 * node or the waiter saw the new value.
 *
 * No wrong wake-up: waiters of different addresses may share a bucket (and
 * its condition variable), so a wake does not just signal the condition: it
 * unlinks the nodes it chose and marks them woken, then broadcasts.  A waiter
 * only returns when its own node was marked, or when its deadline passed
 * (then it unlinks itself).  Waiters not chosen go back to sleep; with 256
 * buckets such sharing is rare.
 *
 * fork(): the library's one atfork handler (src/fork.c) calls the hooks at
 * the end of this file: prepare takes every bucket mutex, after the
 * services' locks, so no thread is inside a bucket when the process is
 * copied; the child rebuilds the table empty (its lists hold the nodes of
 * threads that do not exist there, and its condition variables their
 * waits) before any service's child hook can wake.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wait.h"
#include "../internal/platform.h"
#include "../internal/fork.h"

/* 256 buckets: a few KiB, and far more buckets than the threads that park at
 * once on the machines we target, so unrelated addresses seldom share one. */
#define CT__BUCKETS 256

struct parked {
    const uint32_t *addr;
    struct parked *next, *prev;
    bool woken;
};

struct bucket {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    struct parked head;        /* sentinel of a circular FIFO list */
} __attribute__((aligned(64)));

static struct bucket table[CT__BUCKETS];

/* The hooks at the end run from src/fork.c's atfork handler, which its
 * constructor registers: this reference links src/fork.c into any program
 * that links this backend, even one that uses no service. */
__attribute__((used)) static void (*const fork_registration)(void) = ct__fork_ready;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

CT__COLD static void pthread_failed(const char *what, int err)
{
    fprintf(stderr, "cthreading: %s failed unexpectedly: %s\n", what, strerror(err));
    abort();
}

static void table_build(void)
{
    pthread_condattr_t attr;
    int err;

    if ((err = pthread_condattr_init(&attr)) != 0)
        pthread_failed("pthread_condattr_init", err);
    if ((err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)) != 0)
        pthread_failed("pthread_condattr_setclock", err);
    for (int i = 0; i < CT__BUCKETS; i++) {
        struct bucket *b = &table[i];
        if ((err = pthread_mutex_init(&b->mutex, NULL)) != 0)
            pthread_failed("pthread_mutex_init", err);
        if ((err = pthread_cond_init(&b->cond, &attr)) != 0)
            pthread_failed("pthread_cond_init", err);
        b->head.next = b->head.prev = &b->head;
    }
    pthread_condattr_destroy(&attr);
}


static struct bucket *bucket_of(const uint32_t *addr)
{
    uintptr_t h = (uintptr_t)addr;
    h ^= h >> 17;
    h *= (uintptr_t)0x9E3779B97F4A7C15ull;   /* Fibonacci hashing */
    pthread_once(&table_once, table_build);
    return &table[(h >> 24) % CT__BUCKETS];
}

static void lock_bucket(struct bucket *b)
{
    int err = pthread_mutex_lock(&b->mutex);
    if (err != 0)
        pthread_failed("pthread_mutex_lock", err);
}

static void unlink_node(struct parked *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
}

int ct__wait_until(const uint32_t *addr, uint32_t expected, int64_t deadline)
{
    struct bucket *b = bucket_of(addr);
    struct parked self = { .addr = addr };
    struct timespec ts;
    int rc = CT_OK;

    ts.tv_sec = (time_t)(deadline / 1000000000);
    ts.tv_nsec = (long)(deadline % 1000000000);

    lock_bucket(b);
    if (__atomic_load_n(addr, __ATOMIC_ACQUIRE) != expected) {
        pthread_mutex_unlock(&b->mutex);
        return CT_OK;
    }
    self.prev = b->head.prev;
    self.next = &b->head;
    b->head.prev->next = &self;
    b->head.prev = &self;

    while (!self.woken) {
        int err = deadline == CT__NO_DEADLINE
                      ? pthread_cond_wait(&b->cond, &b->mutex)
                      : pthread_cond_timedwait(&b->cond, &b->mutex, &ts);
        if (err == ETIMEDOUT && !self.woken) {
            unlink_node(&self);
            rc = CT_ETIMEDOUT;
            break;
        }
        if (err != 0 && err != ETIMEDOUT && err != EINTR)
            pthread_failed("pthread_cond_wait", err);
    }
    pthread_mutex_unlock(&b->mutex);
    return rc;
}

static void wake(const uint32_t *addr, bool all)
{
    struct bucket *b = bucket_of(addr);
    bool any = false;

    lock_bucket(b);
    for (struct parked *n = b->head.next, *next; n != &b->head; n = next) {
        next = n->next;
        if (n->addr != addr)
            continue;
        unlink_node(n);
        n->woken = true;
        any = true;
        if (!all)
            break;
    }
    if (any)
        pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->mutex);
}

void ct_wake_one(const uint32_t *addr) { wake(addr, false); }
void ct_wake_all(const uint32_t *addr) { wake(addr, true); }

void ct__wait_fork_prepare(void)
{
    pthread_once(&table_once, table_build);
    for (int i = 0; i < CT__BUCKETS; i++)
        lock_bucket(&table[i]);
}

void ct__wait_fork_parent(void)
{
    for (int i = CT__BUCKETS; i-- > 0;)
        pthread_mutex_unlock(&table[i].mutex);
}

void ct__wait_fork_child(void)
{
    table_build();                 /* every mutex free, every list empty */
}
