/* per_thread_counters: contention-free counting with ct_local_t.
 *
 * Each worker thread bumps its own counter (no shared cache line, no lock);
 * a reader sums every live thread's counter with ct_local_foreach, and the
 * destructor folds the count of an exiting thread into a "retired" total, so
 * nothing is lost when threads come and go (the pattern of folly's
 * ThreadLocal counters and of Python's per-thread stats).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <cthreading.h>

enum { THREADS = 4, INCREMENTS = 1000000 };

struct counter {
    _Atomic uint64_t n;      /* written by its thread only; read by foreach */
};

static _Atomic uint64_t retired;    /* counts of threads that exited */

static void *new_counter(void *arg)
{
    (void)arg;
    return calloc(1, sizeof(struct counter));
}

/* Runs once per counter: on its thread's exit (or at ct_local_destroy). */
static void retire_counter(void *p)
{
    struct counter *c = p;
    atomic_fetch_add(&retired, atomic_load_explicit(&c->n, memory_order_relaxed));
    free(c);
}

static ct_local_t counter_key;

static void count(void)
{
    struct counter *c = ct_local_get(&counter_key);     /* no lock, no syscall */
    /* Single writer: a relaxed load + store is enough (no atomic RMW). */
    atomic_store_explicit(&c->n, atomic_load_explicit(&c->n, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static void add_value(void *value, void *arg)
{
    *(uint64_t *)arg += atomic_load_explicit(&((struct counter *)value)->n,
                                             memory_order_relaxed);
}

static uint64_t total(void)
{
    uint64_t sum = atomic_load(&retired);
    ct_local_foreach(&counter_key, add_value, &sum);
    return sum;
}

static void worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < INCREMENTS; i++)
        count();
}

int main(void)
{
    ct_thread_t threads[THREADS];
    int rc;

    if ((rc = ct_local_init(&counter_key, new_counter, retire_counter, NULL)) != CT_OK) {
        fprintf(stderr, "ct_local_init: %s\n", ct_strerror(rc));
        return 1;
    }
    for (int i = 0; i < THREADS; i++) {
        if ((rc = ct_thread_start(&threads[i], worker, NULL)) != CT_OK) {
            fprintf(stderr, "ct_thread_start: %s\n", ct_strerror(rc));
            return 1;
        }
    }
    /* Snapshots while the workers run (approximate: a thread may retire
     * between reading `retired` and the foreach). */
    for (int i = 0; i < 3; i++) {
        ct_sleep(CT_MS(5));
        printf("running total: %llu\n", (unsigned long long)total());
    }
    for (int i = 0; i < THREADS; i++)
        ct_thread_join(&threads[i], CT_FOREVER);

    /* Every worker exited: their counters were retired exactly once. */
    count();                                            /* the main thread counts too */
    uint64_t sum = total(), expected = (uint64_t)THREADS * INCREMENTS + 1;
    printf("final total: %llu (expected %llu)\n", (unsigned long long)sum,
           (unsigned long long)expected);
    ct_local_destroy(&counter_key);                     /* retires main's counter */
    printf("after destroy, retired: %llu\n", (unsigned long long)atomic_load(&retired));
    return sum == expected && atomic_load(&retired) == expected ? 0 : 1;
}
