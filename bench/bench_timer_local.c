/* Timer vs a thread per timer; Local vs pthread_getspecific and _Thread_local.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cthreading.h>
#include "bench.h"

/* ---- the thread-per-timer design (what Python's threading.Timer does) --------- */

struct thread_timer {
    pthread_t thread;
    pthread_mutex_t m;
    pthread_cond_t c;
    struct timespec due;          /* CLOCK_MONOTONIC */
    bool cancelled;
    int64_t due_ns;
    int64_t late_ns;              /* lateness when it fired, -1 if cancelled */
};

static void *thread_timer_main(void *p)
{
    struct thread_timer *t = p;
    int rc = 0;
    pthread_mutex_lock(&t->m);
    while (!t->cancelled && rc == 0)
        rc = pthread_cond_timedwait(&t->c, &t->m, &t->due);
    bool fire = !t->cancelled;
    pthread_mutex_unlock(&t->m);
    t->late_ns = fire ? bench_now_ns() - t->due_ns : -1;
    return NULL;
}

static void thread_timer_start(struct thread_timer *t, int64_t interval_ns)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&t->c, &a);
    pthread_condattr_destroy(&a);
    pthread_mutex_init(&t->m, NULL);
    t->cancelled = false;
    t->due_ns = bench_now_ns() + interval_ns;
    t->due.tv_sec = t->due_ns / 1000000000;
    t->due.tv_nsec = t->due_ns % 1000000000;
    pthread_create(&t->thread, NULL, thread_timer_main, t);
}

static void thread_timer_cancel_join(struct thread_timer *t, bool cancel)
{
    if (cancel) {
        pthread_mutex_lock(&t->m);
        t->cancelled = true;
        pthread_cond_signal(&t->c);
        pthread_mutex_unlock(&t->m);
    }
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->c);
    pthread_mutex_destroy(&t->m);
}

/* ---- start + cancel of many pending timers ------------------------------------------ */

static void noop(void *p) { (void)p; }

/* Returns start+cancel operations per second (Mops/s) with n pending. */
static double start_cancel_ct(ct_timer_t *t, int n)
{
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < n; i++)
        ct_timer_start(&t[i], CT_SEC(10) + (int64_t)(i * 7919 % n) * 1000, noop, NULL);
    for (int i = 0; i < n; i++)
        ct_timer_cancel(&t[i]);
    return 2.0 * n / ((double)(bench_now_ns() - t0) / 1e9) / 1e6;
}

static double start_cancel_threads(struct thread_timer *t, int n)
{
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < n; i++)
        thread_timer_start(&t[i], CT_SEC(10));
    for (int i = 0; i < n; i++)
        thread_timer_cancel_join(&t[i], true);
    return 2.0 * n / ((double)(bench_now_ns() - t0) / 1e9) / 1e6;
}

CT_BENCH(timer_start_cancel, 40)
{
    enum { N = 100000 };
    int nthreads = opt->quick ? 1000 : 2000;
    ct_timer_t *t = calloc(N, sizeof *t);
    struct thread_timer *tt = calloc((size_t)nthreads, sizeof *tt);
    double a[16], b[16];
    char note[128];

    for (int r = 0; r < opt->reps; r++) {
        a[r] = start_cancel_ct(t, N);
        b[r] = start_cancel_threads(tt, nthreads);
    }
    snprintf(note, sizeof note, "100k pending on 1 service thread; twin: create+join one "
             "thread per timer (%d pending)", nthreads);
    bench_row("Timer", "start+cancel, 100k pending", BENCH_RATE, bench_median(a, opt->reps),
              bench_median(b, opt->reps), "thread per timer", "Mops/s", ">= 1 Mops/s", note);
    free(t);
    free(tt);
}

/* ---- firing lateness ------------------------------------------------------------------- */

struct late_rec {
    int64_t due;
    int64_t late;
};

static void record_lateness(void *p)
{
    struct late_rec *r = p;
    r->late = bench_now_ns() - r->due;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static void percentiles(int64_t *v, int n, double *p50, double *p99)
{
    qsort(v, (size_t)n, sizeof *v, cmp_i64);
    *p50 = (double)v[n / 2] / 1e3;
    *p99 = (double)v[(int)((double)n * 0.99)] / 1e3;
}

CT_BENCH(timer_lateness, 41)
{
    int n = 10000, nthreads = opt->quick ? 1000 : 2000;
    int64_t span = opt->quick ? CT_MS(500) : CT_SEC(1);
    ct_timer_t *t = calloc((size_t)n, sizeof *t);
    struct late_rec *rec = calloc((size_t)n, sizeof *rec);
    struct thread_timer *tt = calloc((size_t)nthreads, sizeof *tt);
    int64_t *late = calloc((size_t)(n > nthreads ? n : nthreads), sizeof *late);
    double c50, c99, p50, p99;
    unsigned x = 12345;
    char note[160];

    /* Warm the service and a worker up, as in a running program. */
    ct_timer_start(&t[0], 0, noop, NULL);
    ct_timer_join(&t[0], CT_FOREVER);
    for (int i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        int64_t interval = CT_MS(20) + (int64_t)(x >> 8) % span;
        rec[i].due = bench_now_ns() + interval;
        ct_timer_start(&t[i], interval, record_lateness, &rec[i]);
    }
    for (int i = 0; i < n; i++)
        ct_timer_join(&t[i], CT_FOREVER);
    for (int i = 0; i < n; i++)
        late[i] = rec[i].late;
    percentiles(late, n, &c50, &c99);

    for (int i = 0; i < nthreads; i++) {
        x = x * 1103515245u + 12345u;
        thread_timer_start(&tt[i], CT_MS(50) + (int64_t)(x >> 8) % span);
    }
    for (int i = 0; i < nthreads; i++) {
        thread_timer_cancel_join(&tt[i], false);
        late[i] = tt[i].late_ns;
    }
    percentiles(late, nthreads, &p50, &p99);

    snprintf(note, sizeof note, "%d timers due within %.1f s; twin: %d threads each "
             "sleeping to its deadline", n, (double)span / 1e9, nthreads);
    bench_row("Timer", "firing lateness p50", BENCH_TIME, c50, p50, "thread per timer", "us",
              "<= 200 us", note);
    bench_row("Timer", "firing lateness p99", BENCH_TIME, c99, p99, "thread per timer", "us",
              "<= 2000 us", NULL);
    free(t);
    free(rec);
    free(tt);
    free(late);
}

/* ---- Local ------------------------------------------------------------------------------ */

static ct_local_t bench_key;
static pthread_key_t bench_pkey;
static _Thread_local int tls_var;

static double local_get_ct(long n)
{
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        void *v = ct_local_get(&bench_key);
        bench_keep(v);
    }
    return (double)(bench_now_ns() - t0) / (double)n;
}

static double local_get_pthread(long n)
{
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        void *v = pthread_getspecific(bench_pkey);
        bench_keep(v);
    }
    return (double)(bench_now_ns() - t0) / (double)n;
}

static double local_get_tls(long n)
{
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        int v = tls_var;          /* re-read each time: bench_keep clobbers memory */
        bench_keep(v);
    }
    return (double)(bench_now_ns() - t0) / (double)n;
}

CT_BENCH(local_get, 45)
{
    long n = opt->quick ? 3000000 : 20000000;
    double a[16], b[16], c[16];

    ct_local_init(&bench_key, NULL, NULL, NULL);
    ct_local_set(&bench_key, &bench_key);
    pthread_key_create(&bench_pkey, NULL);
    pthread_setspecific(bench_pkey, &bench_pkey);
    for (int r = 0; r < opt->reps; r++) {
        a[r] = local_get_ct(n);
        b[r] = local_get_pthread(n);
        c[r] = local_get_tls(n);
    }
    double ct = bench_median(a, opt->reps);
    bench_row("Local", "get (value present)", BENCH_TIME, ct, bench_median(b, opt->reps),
              "pthread_getspecific", "ns/op", "<= 1.0", NULL);
    bench_row("Local", "get vs a _Thread_local read", BENCH_TIME, ct,
              bench_median(c, opt->reps), "_Thread_local", "ns/op", "<= 2.0", NULL);
    bench_row("size", "Local vs pthread_key_t", BENCH_SIZE, sizeof(ct_local_t),
              sizeof(pthread_key_t), "", "bytes", NULL, "no key limit; dtor also at destroy");
    bench_row("size", "Timer vs thread per timer", BENCH_SIZE, sizeof(ct_timer_t),
              sizeof(struct thread_timer), "", "bytes", NULL, "plus a whole thread each");
    ct_local_destroy(&bench_key);
    pthread_key_delete(bench_pkey);
}
