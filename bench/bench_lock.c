/* Lock vs pthread_mutex_t: sizes, uncontended cost, contended throughput.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <cthreading.h>
#include "bench.h"

CT_BENCH(sizes, 0)
{
    (void)opt;
    bench_row("size", "Lock vs pthread_mutex_t", BENCH_SIZE, sizeof(ct_lock_t),
              sizeof(pthread_mutex_t), "", "bytes", "== 4 B", NULL);
}

/* ---- uncontended ------------------------------------------------------------- */
static ct_lock_t ct_l;
static pthread_mutex_t pt_m = PTHREAD_MUTEX_INITIALIZER;

static double uncontended_ct(long n)
{
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        ct_lock_acquire(&ct_l);
        bench_keep(i);
        ct_lock_release(&ct_l);
    }
    return (double)(bench_now_ns() - t0) / (double)n;
}

static double uncontended_pt(long n)
{
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&pt_m);
        bench_keep(i);
        pthread_mutex_unlock(&pt_m);
    }
    return (double)(bench_now_ns() - t0) / (double)n;
}

CT_BENCH(lock_uncontended, 10)
{
    long n = opt->quick ? 2000000 : 10000000;
    double a[16], b[16];
    for (int r = 0; r < opt->reps; r++) {
        a[r] = uncontended_ct(n);
        b[r] = uncontended_pt(n);
    }
    bench_row("Lock", "uncontended acquire+release", BENCH_TIME, bench_median(a, opt->reps),
              bench_median(b, opt->reps), "pthread_mutex", "ns/op", "<= 0.7", NULL);
}

/* ---- contended throughput ------------------------------------------------------ */
#define MAXT 16

struct contended {
    bool use_ct;
    atomic_bool stop;
    atomic_int running;
    ct_lock_t l;
    pthread_mutex_t m;
    long shared;                     /* touched only under the lock */
    long ops[MAXT];
};

/* A little private work between critical sections, as real code has. */
static unsigned outside_work(unsigned x)
{
    for (int i = 0; i < 20; i++)
        x = x * 1103515245u + 12345u;
    return x;
}

static void contended_body(void *arg, int idx)
{
    struct contended *c = arg;
    long ops = 0;
    unsigned x = (unsigned)idx + 1;
    while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
        if (c->use_ct) {
            ct_lock_acquire(&c->l);
            c->shared++;
            ct_lock_release(&c->l);
        } else {
            pthread_mutex_lock(&c->m);
            c->shared++;
            pthread_mutex_unlock(&c->m);
        }
        x = outside_work(x);
        ops++;
    }
    bench_keep(x);
    c->ops[idx] = ops;
}

struct timer_arg { struct contended *c; double secs; int n; };

static void contended_driver(void *arg, int idx)
{
    struct timer_arg *t = arg;
    if (idx == t->n) {           /* the last thread is the timer */
        int64_t end = bench_now_ns() + (int64_t)(t->secs * 1e9);
        while (bench_now_ns() < end) {
            struct timespec ts = { 0, 1000000 };
            nanosleep(&ts, NULL);
        }
        atomic_store(&t->c->stop, true);
        return;
    }
    contended_body(t->c, idx);
}

/* Returns Mops/s; min_share and max_share receive each thread's ops / fair share. */
static double contended_run(bool use_ct, int n, double secs, double *min_share,
                            double *max_share)
{
    static struct contended c;
    struct timer_arg t = { &c, secs, n };
    long total = 0;

    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.m, NULL);
    c.use_ct = use_ct;
    int64_t t0 = bench_now_ns();
    bench_run_threads(n + 1, contended_driver, &t);
    double elapsed = (double)(bench_now_ns() - t0) / 1e9;
    for (int i = 0; i < n; i++)
        total += c.ops[i];
    *min_share = 1e9;
    *max_share = 0;
    for (int i = 0; i < n; i++) {
        double share = (double)c.ops[i] * n / (double)(total ? total : 1);
        if (share < *min_share) *min_share = share;
        if (share > *max_share) *max_share = share;
    }
    if (c.shared != total)
        fprintf(stderr, "bench: lost updates (%ld != %ld)!\n", c.shared, total);
    pthread_mutex_destroy(&c.m);
    return (double)total / elapsed / 1e6;
}

CT_BENCH(lock_contended, 11)
{
    static const int threads[] = { 2, 4, 8 };
    for (size_t k = 0; k < sizeof threads / sizeof threads[0]; k++) {
        int n = threads[k];
        double a[16], b[16], amin = 1e9, amax = 0, bmin = 1e9, bmax = 0;
        int reps = opt->quick ? 3 : 5;
        for (int r = 0; r < reps; r++) {
            double lo, hi;
            a[r] = contended_run(true, n, opt->run_s, &lo, &hi);
            if (lo < amin) amin = lo;
            if (hi > amax) amax = hi;
            b[r] = contended_run(false, n, opt->run_s, &lo, &hi);
            if (lo < bmin) bmin = lo;
            if (hi > bmax) bmax = hi;
        }
        char name[64], note[96];
        snprintf(name, sizeof name, "contended throughput, %d threads", n);
        snprintf(note, sizeof note, "share min/max of fair: ct %.2f/%.2f, pthread %.2f/%.2f",
                 amin, amax, bmin, bmax);
        bench_row("Lock", name, BENCH_RATE, bench_median(a, reps), bench_median(b, reps),
                  "pthread_mutex", "Mops/s", ">= 1.5", note);
    }
}
