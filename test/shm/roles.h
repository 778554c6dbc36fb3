/* What one process does with the shared arena (struct arena), the same in
 * a forked child of test/test_shm.c and in the peer program test/shm/peer.c
 * that opens the region by name.  Each role returns 0 if every invariant it
 * checked held, non-zero otherwise (and counts a failure in the arena).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_TEST_SHM_ROLES_H
#define CT_TEST_SHM_ROLES_H

#include <string.h>
#include "arena.h"

#define ROLE_MAX_THREADS 8

struct role_arg {
    struct arena *a;
    int iters;
    int bad;
};

static inline void role_fail(struct arena *a, int *bad)
{
    (*bad)++;
    atomic_fetch_add(&a->failures, 1);
}

/* Lock, RLock (two levels deep) and the bounded semaphore, iters times each. */
static inline void role_count_thread(void *p)
{
    struct role_arg *r = p;
    struct arena *a = r->a;

    for (int i = 0; i < r->iters; i++) {
        int in, max;

        ct_lock_acquire(&a->lock);
        a->counter++;
        if (ct_lock_release(&a->lock) != CT_OK)
            role_fail(a, &r->bad);

        if (ct_rlock_acquire(&a->rlock) != CT_OK || ct_rlock_acquire(&a->rlock) != CT_OK
            || ct_rlock_count(&a->rlock) != 2)
            role_fail(a, &r->bad);
        a->rcounter++;
        if (ct_rlock_release(&a->rlock) != CT_OK || !ct_rlock_is_owned(&a->rlock)
            || ct_rlock_release(&a->rlock) != CT_OK)
            role_fail(a, &r->bad);

        if (ct_sem_acquire(&a->sem) != CT_OK)
            role_fail(a, &r->bad);
        in = atomic_fetch_add(&a->inside, 1) + 1;
        max = atomic_load(&a->max_inside);
        while (in > max && !atomic_compare_exchange_weak(&a->max_inside, &max, in)) {
        }
        if (in > ARENA_SEM_BOUND)
            role_fail(a, &r->bad);
        atomic_fetch_sub(&a->inside, 1);
        if (ct_sem_release(&a->sem, 1) != CT_OK)
            role_fail(a, &r->bad);
    }
}

static inline int role_count(struct arena *a, int threads, int iters)
{
    ct_thread_t t[ROLE_MAX_THREADS];
    struct role_arg args[ROLE_MAX_THREADS];
    int bad = 0, started = 0;

    if (threads > ROLE_MAX_THREADS)
        threads = ROLE_MAX_THREADS;
    for (int i = 0; i < threads; i++) {
        args[i] = (struct role_arg){ a, iters, 0 };
        if (i == threads - 1)
            break;                         /* the last share runs on this thread */
        if (ct_thread_start(&t[i], role_count_thread, &args[i]) != CT_OK)
            return 90;
        started++;
    }
    role_count_thread(&args[threads - 1]);
    for (int i = 0; i < started; i++)
        if (ct_thread_join(&t[i], CT_FOREVER) != CT_OK)
            bad++;
    for (int i = 0; i < threads; i++)
        bad += args[i].bad;
    return bad ? 1 : 0;
}

/* Waits for the event `go` (announced through go_waiting). */
static inline int role_go(struct arena *a)
{
    atomic_fetch_add(&a->go_waiting, 1);
    return ct_event_wait_timed(&a->go, CT_SEC(60)) == CT_OK ? 0 : 2;
}

/* gens generations of the barrier: everyone that passes generation g finds
 * that all parties arrived at it. */
static inline int role_barrier(struct arena *a, int gens)
{
    unsigned parties = ct_barrier_parties(&a->barrier);

    for (int g = 0; g < gens && g < 64; g++) {
        atomic_fetch_add(&a->arrivals[g], 1);
        if (ct_barrier_wait_timed(&a->barrier, CT_SEC(60)) < 0)
            return 3;
        if (atomic_load(&a->arrivals[g]) != parties) {
            atomic_fetch_add(&a->failures, 1);
            return 4;
        }
    }
    return 0;
}

/* Consumer of n items over the Condition bound to cond_lock. */
static inline int role_consume(struct arena *a, int n)
{
    for (int i = 0; i < n; i++) {
        ct_lock_acquire(&a->cond_lock);
        while (a->cond_items == 0) {
            if (ct_cond_wait_timed(&a->cond, CT_SEC(60)) != CT_OK) {
                (void)ct_lock_release(&a->cond_lock);
                return 5;
            }
        }
        a->cond_items--;
        (void)ct_lock_release(&a->cond_lock);
    }
    return 0;
}

/* Takes the victim RLock, announces it, and waits to be killed. */
static inline int role_hold(struct arena *a)
{
    if (ct_rlock_acquire(&a->victim) != CT_OK || ct_rlock_acquire(&a->victim) != CT_OK)
        return 6;
    (void)ct_sem_release(&a->ready, 1);
    (void)ct_sleep(CT_SEC(120));
    return 7;                              /* not killed: the test failed */
}

#endif
