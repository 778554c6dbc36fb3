/* Threads: start+join against pthread_create+pthread_join, alone and from 8
 * threads at once (the registry must not serialise them), and the cost of
 * ct_thread_current / ct_thread_ident once the record exists.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include <cthreading.h>
#include "bench.h"

static void ct_noop(void *arg) { bench_keep(arg); }
static void *pt_noop(void *arg) { bench_keep(arg); return NULL; }

static double ct_start_join(int n)
{
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < n; i++) {
        ct_thread_t t;
        if (ct_thread_start(&t, ct_noop, NULL) != CT_OK || ct_thread_join(&t, CT_FOREVER) != CT_OK)
            fprintf(stderr, "bench_thread: ct start/join failed\n");
    }
    return (double)(bench_now_ns() - t0) / n;
}

static double pt_start_join(int n)
{
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, pt_noop, NULL) != 0 || pthread_join(t, NULL) != 0)
            fprintf(stderr, "bench_thread: pthread start/join failed\n");
    }
    return (double)(bench_now_ns() - t0) / n;
}

struct par { int per_thread; bool use_ct; };
static void par_driver(void *arg, int index)
{
    struct par *p = arg;
    (void)index;
    if (p->use_ct)
        (void)ct_start_join(p->per_thread);
    else
        (void)pt_start_join(p->per_thread);
}

/* Pairs started+joined per second by 8 threads at once. */
static double par_rate(bool use_ct, int per_thread)
{
    struct par p = { per_thread, use_ct };
    int64_t t0 = bench_now_ns();
    bench_run_threads(8, par_driver, &p);
    return 8.0 * per_thread / ((double)(bench_now_ns() - t0) / 1e9) / 1e3;
}

CT_BENCH(thread, 5)
{
    enum { REPS_MAX = 31 };
    int reps = opt->reps < REPS_MAX ? opt->reps : REPS_MAX;
    int n = opt->quick ? 100 : 500;
    double ct[REPS_MAX], pt[REPS_MAX], ctp[REPS_MAX], ptp[REPS_MAX];

    for (int r = 0; r < reps; r++) {       /* interleaved */
        ct[r] = ct_start_join(n);
        pt[r] = pt_start_join(n);
    }
    bench_row("thread", "start + join", BENCH_TIME, bench_median(ct, reps),
              bench_median(pt, reps), "pthread_create+join", "ns/pair", "<= 1.1", NULL);
    for (int r = 0; r < reps; r++) {
        ctp[r] = par_rate(true, n / 4);
        ptp[r] = par_rate(false, n / 4);
    }
    bench_row("thread", "start + join, 8 threads at once", BENCH_RATE,
              bench_median(ctp, reps), bench_median(ptp, reps), "pthread", "k pairs/s",
              ">= 0.9", NULL);

    /* Per-call cost once the record exists (the main thread has one). */
    enum { CALLS = 10000000 };
    ct_thread_t me;
    double cur[REPS_MAX], self[REPS_MAX], id[REPS_MAX];
    for (int r = 0; r < reps; r++) {
        int64_t t0 = bench_now_ns();
        for (int i = 0; i < CALLS; i++) {
            (void)ct_thread_current(&me);
            bench_keep(me.rec);
        }
        cur[r] = (double)(bench_now_ns() - t0) / CALLS;
        t0 = bench_now_ns();
        for (int i = 0; i < CALLS; i++) {
            uint64_t x = ct_thread_ident();
            bench_keep(x);
        }
        id[r] = (double)(bench_now_ns() - t0) / CALLS;
        t0 = bench_now_ns();
        for (int i = 0; i < CALLS; i++) {
            pthread_t x = pthread_self();
            bench_keep(x);
        }
        self[r] = (double)(bench_now_ns() - t0) / CALLS;
    }
    bench_row("thread", "ct_thread_current", BENCH_TIME, bench_median(cur, reps),
              bench_median(self, reps), "pthread_self", "ns/op", NULL, "goal: <= 2 ns");
    bench_row("thread", "ct_thread_ident", BENCH_TIME, bench_median(id, reps),
              bench_median(self, reps), "pthread_self", "ns/op", NULL, "goal: <= 2 ns");
}
