/* The layout the cross-process tests share (test/test_shm.c and the peer
 * program test/shm/peer.c, which opens the region by name): every primitive
 * under test and the plain counters its invariants are checked with.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_TEST_SHM_ARENA_H
#define CT_TEST_SHM_ARENA_H

#include <stdatomic.h>
#include <stdint.h>
#include <cthreading.h>
#include <cthreading/shm.h>

#define ARENA_SEM_BOUND 3

struct arena {
    ct_lock_t lock;          /* mutual exclusion: counter */
    uint64_t counter;        /* plain: written only under lock */
    ct_rlock_t rlock;        /* mutual exclusion with recursion: rcounter */
    uint64_t rcounter;
    ct_sem_t sem;            /* bounded, ARENA_SEM_BOUND permits */
    atomic_int inside;       /* threads between sem acquire and release */
    atomic_int max_inside;
    ct_event_t go;           /* set by the parent: every waiter must return */
    atomic_int go_waiting;   /* waiters about to wait on `go` */
    ct_barrier_t barrier;
    atomic_uint arrivals[64];/* per generation: how many passed it */
    ct_lock_t cond_lock;     /* Condition bound to a Lock */
    ct_cond_t cond;
    int cond_items;          /* under cond_lock */
    ct_cond_t own_cond;      /* zero-initialised: its own RLock */
    int own_flag;
    ct_sem_t ready;          /* a peer announces a state to the parent */
    ct_rlock_t victim;       /* held by a process that is then killed */
    atomic_int failures;     /* a process that saw a broken invariant */
};

#endif
