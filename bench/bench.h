/* cthreading-bench: each primitive against its pthread twin, in one run.
 *
 * A benchmark file registers one function with CT_BENCH(name, order); the
 * function measures its cthreading primitive and the pthread counterpart,
 * *interleaved* (ct, pthread, ct, pthread, ...) so machine noise hits both,
 * takes the median of each, and adds rows with bench_row().  bench_main.c
 * prints the table.  Speed goals are checked here, never in timed tests.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_BENCH_H
#define CT_BENCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bench_opts {
    bool quick;          /* --quick: fewer repeats, shorter runs (< 20 s in all) */
    int reps;            /* interleaved repeats per measurement */
    double run_s;        /* seconds per throughput run */
};

enum bench_kind {
    BENCH_TIME,          /* lower is better; ratio = ct / pthread */
    BENCH_RATE,          /* higher is better; ratio = ct / pthread */
    BENCH_SIZE,          /* bytes; ratio = ct / pthread */
    BENCH_INFO,          /* free text in `note`, no ratio */
};

/* Adds a row to the table.  unit: e.g. "ns/op", "Mops/s", "bytes".
 * goal: e.g. "<= 0.7" or NULL.  note: fairness figures etc., or NULL. */
void bench_row(const char *group, const char *name, enum bench_kind kind, double ct,
               double ref, const char *ref_name, const char *unit, const char *goal,
               const char *note);

typedef void (*bench_fn)(const struct bench_opts *);
void bench_register(const char *name, int order, bench_fn fn);

#define CT_BENCH(name, order)                                                       \
    static void bench_##name(const struct bench_opts *);                            \
    __attribute__((constructor)) static void bench_reg_##name(void)                 \
    {                                                                               \
        bench_register(#name, order, bench_##name);                                 \
    }                                                                               \
    static void bench_##name(const struct bench_opts *opt)

/* Helpers. */
int64_t bench_now_ns(void);
double bench_median(double *v, int n);

/* Runs fn(arg, thread_index) on `n` threads started together; returns when
 * all returned.  Threads are pthreads: the same for both sides. */
void bench_run_threads(int n, void (*fn)(void *arg, int index), void *arg);

/* The pthread twin of an Event (mutex + cond + flag), for the Event rows of
 * bench_sem_event_barrier.c and the hand-off matrix. */
struct pt_event {
    pthread_mutex_t m;
    pthread_cond_t c;
    int flag;
};

static inline void pt_event_init(struct pt_event *e)
{
    pthread_mutex_init(&e->m, NULL);
    pthread_cond_init(&e->c, NULL);
    e->flag = 0;
}

static inline void pt_event_destroy(struct pt_event *e)
{
    pthread_cond_destroy(&e->c);
    pthread_mutex_destroy(&e->m);
}

static inline void pt_event_set(struct pt_event *e)
{
    pthread_mutex_lock(&e->m);
    e->flag = 1;
    pthread_cond_broadcast(&e->c);
    pthread_mutex_unlock(&e->m);
}

static inline void pt_event_clear(struct pt_event *e)
{
    pthread_mutex_lock(&e->m);
    e->flag = 0;
    pthread_mutex_unlock(&e->m);
}

static inline void pt_event_wait(struct pt_event *e)
{
    pthread_mutex_lock(&e->m);
    while (!e->flag)
        pthread_cond_wait(&e->c, &e->m);
    pthread_mutex_unlock(&e->m);
}

/* A compiler barrier that keeps a value alive. */
#define bench_keep(x) __asm__ __volatile__("" : : "g"(x) : "memory")

#endif
