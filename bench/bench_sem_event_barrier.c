/* Semaphore vs sem_t, Event vs a pthread_cond + flag event, Barrier vs
 * pthread_barrier_t: sizes, hand-off ping-pong round trips, barrier rounds at
 * 2 and 4 threads, and 8 threads on the 2-core machine (threads > cores,
 * where spinning must not cost throughput).
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

#define MAXREPS 16

CT_BENCH(sem_event_barrier_sizes, 30)
{
    (void)opt;
    bench_row("size", "Semaphore vs sem_t", BENCH_SIZE, sizeof(ct_sem_t), sizeof(sem_t), "",
              "bytes", "<= 16 B", NULL);
    bench_row("size", "Event vs mutex+cond+flag", BENCH_SIZE, sizeof(ct_event_t),
              sizeof(pthread_mutex_t) + sizeof(pthread_cond_t) + sizeof(int), "", "bytes",
              "== 4 B", NULL);
    bench_row("size", "Barrier vs pthread_barrier_t", BENCH_SIZE, sizeof(ct_barrier_t),
              sizeof(pthread_barrier_t), "", "bytes", "<= 32 B", NULL);
}

/* ---- ping-pong between two threads --------------------------------------------- */
enum pp_kind { PP_CT_SEM, PP_PT_SEM, PP_CT_EVENT, PP_PT_EVENT };

struct pingpong {
    enum pp_kind kind;
    long rounds;
    ct_sem_t cs[2];
    sem_t ps[2];
    ct_event_t ce[2];
    struct pt_event pe[2];
};

/* Thread 0 sends on [0] and receives on [1]; thread 1 the other way round. */
static void pp_body(void *arg, int idx)
{
    struct pingpong *p = arg;
    int in = idx == 0 ? 1 : 0, out = idx;
    for (long i = 0; i < p->rounds; i++) {
        if (idx == 0) {
            switch (p->kind) {
            case PP_CT_SEM: ct_sem_release(&p->cs[out], 1); break;
            case PP_PT_SEM: sem_post(&p->ps[out]); break;
            case PP_CT_EVENT: ct_event_set(&p->ce[out]); break;
            case PP_PT_EVENT: pt_event_set(&p->pe[out]); break;
            }
        }
        switch (p->kind) {
        case PP_CT_SEM: ct_sem_acquire(&p->cs[in]); break;
        case PP_PT_SEM: sem_wait(&p->ps[in]); break;
        case PP_CT_EVENT: ct_event_wait(&p->ce[in]); ct_event_clear(&p->ce[in]); break;
        case PP_PT_EVENT: pt_event_wait(&p->pe[in]); pt_event_clear(&p->pe[in]); break;
        }
        if (idx == 1) {
            switch (p->kind) {
            case PP_CT_SEM: ct_sem_release(&p->cs[out], 1); break;
            case PP_PT_SEM: sem_post(&p->ps[out]); break;
            case PP_CT_EVENT: ct_event_set(&p->ce[out]); break;
            case PP_PT_EVENT: pt_event_set(&p->pe[out]); break;
            }
        }
    }
}

/* Returns ns per round trip. */
static double pingpong_run(enum pp_kind kind, long rounds)
{
    static struct pingpong p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.rounds = rounds;
    for (int i = 0; i < 2; i++) {
        sem_init(&p.ps[i], 0, 0);
        pt_event_init(&p.pe[i]);
    }
    int64_t t0 = bench_now_ns();
    bench_run_threads(2, pp_body, &p);
    double ns = (double)(bench_now_ns() - t0) / (double)rounds;
    for (int i = 0; i < 2; i++) {
        sem_destroy(&p.ps[i]);
        pt_event_destroy(&p.pe[i]);
    }
    return ns;
}

static void pingpong_rows(const struct bench_opts *opt, enum pp_kind ct, enum pp_kind pt,
                          const char *group, const char *ref)
{
    /* The pthread side sleeps every hand-off (~40 µs a round trip here), so
     * it gets fewer rounds to keep the quick run short. */
    long ct_rounds = opt->quick ? 20000 : 200000, pt_rounds = opt->quick ? 2000 : 20000;
    int reps = opt->quick ? 3 : 7;
    double a[MAXREPS], b[MAXREPS];
    for (int r = 0; r < reps; r++) {
        a[r] = pingpong_run(ct, ct_rounds);
        b[r] = pingpong_run(pt, pt_rounds);
    }
    bench_row(group, "ping-pong round trip, 2 threads", BENCH_TIME, bench_median(a, reps),
              bench_median(b, reps), ref, "ns/round", "<= 0.5", NULL);
}

CT_BENCH(sem_pingpong, 31)
{
    pingpong_rows(opt, PP_CT_SEM, PP_PT_SEM, "Semaphore", "sem_t");
}

CT_BENCH(event_pingpong, 32)
{
    pingpong_rows(opt, PP_CT_EVENT, PP_PT_EVENT, "Event", "mutex+cond+flag");
}

/* ---- semaphore-guarded pool, 8 threads on the 2 cores: throughput ---------------- */
struct pool {
    bool use_ct;
    atomic_bool stop;
    ct_sem_t cs;
    sem_t ps;
    long ops[16];
};

static unsigned work(unsigned x, int n)
{
    for (int i = 0; i < n; i++)
        x = x * 1103515245u + 12345u;
    return x;
}

struct pool_arg { struct pool *p; int n; double secs; };

static void pool_body(void *arg, int idx)
{
    struct pool_arg *a = arg;
    struct pool *p = a->p;
    if (idx == a->n) {                   /* the timer */
        int64_t end = bench_now_ns() + (int64_t)(a->secs * 1e9);
        while (bench_now_ns() < end) {
            struct timespec ts = { 0, 1000000 };
            nanosleep(&ts, NULL);
        }
        atomic_store(&p->stop, true);
        return;
    }
    unsigned x = (unsigned)idx + 1;
    long ops = 0;
    while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
        if (p->use_ct) ct_sem_acquire(&p->cs); else sem_wait(&p->ps);
        x = work(x, 200);                /* hold the permit a little */
        if (p->use_ct) ct_sem_release(&p->cs, 1); else sem_post(&p->ps);
        x = work(x, 50);
        ops++;
    }
    bench_keep(x);
    p->ops[idx] = ops;
}

static double pool_run(bool use_ct, int n, double secs)
{
    static struct pool p;
    struct pool_arg a = { &p, n, secs };
    long total = 0;
    memset(&p, 0, sizeof p);
    p.use_ct = use_ct;
    ct_sem_init(&p.cs, 2);
    sem_init(&p.ps, 0, 2);
    int64_t t0 = bench_now_ns();
    bench_run_threads(n + 1, pool_body, &a);
    double elapsed = (double)(bench_now_ns() - t0) / 1e9;
    for (int i = 0; i < n; i++)
        total += p.ops[i];
    sem_destroy(&p.ps);
    return (double)total / elapsed / 1e6;
}

CT_BENCH(sem_pool_8_threads, 33)
{
    int reps = opt->quick ? 3 : 5;
    double secs = opt->quick ? 0.05 : opt->run_s;
    double a[MAXREPS], b[MAXREPS];
    for (int r = 0; r < reps; r++) {
        a[r] = pool_run(true, 8, secs);
        b[r] = pool_run(false, 8, secs);
    }
    bench_row("Semaphore", "pool of 2 permits, 8 threads", BENCH_RATE, bench_median(a, reps),
              bench_median(b, reps), "sem_t", "Mops/s", ">= 1.0", NULL);
}

/* ---- barrier rounds ------------------------------------------------------------------ */
struct barrier_run {
    bool use_ct;
    long rounds;
    ct_barrier_t cb;
    pthread_barrier_t pb;
};

static void barrier_body(void *arg, int idx)
{
    struct barrier_run *r = arg;
    (void)idx;
    for (long i = 0; i < r->rounds; i++) {
        if (r->use_ct)
            ct_barrier_wait(&r->cb);
        else
            pthread_barrier_wait(&r->pb);
    }
}

/* Returns ns per round (one generation). */
static double barrier_run(bool use_ct, int n, long rounds)
{
    static struct barrier_run r;
    memset(&r, 0, sizeof r);
    r.use_ct = use_ct;
    r.rounds = rounds;
    ct_barrier_init(&r.cb, (unsigned)n, NULL, NULL, CT_FOREVER);
    pthread_barrier_init(&r.pb, NULL, (unsigned)n);
    int64_t t0 = bench_now_ns();
    bench_run_threads(n, barrier_body, &r);
    double ns = (double)(bench_now_ns() - t0) / (double)rounds;
    pthread_barrier_destroy(&r.pb);
    return ns;
}

CT_BENCH(barrier_rounds, 34)
{
    static const int threads[] = { 2, 4, 8 };
    int reps = opt->quick ? 3 : 7;
    for (size_t k = 0; k < sizeof threads / sizeof threads[0]; k++) {
        int n = threads[k];
        long ct_rounds = opt->quick ? (n == 2 ? 20000 : 3000) : (n == 2 ? 200000 : 30000);
        long pt_rounds = opt->quick ? 2000 : 20000;
        double a[MAXREPS], b[MAXREPS];
        char name[64];
        for (int r = 0; r < reps; r++) {
            a[r] = barrier_run(true, n, ct_rounds);
            b[r] = barrier_run(false, n, pt_rounds);
        }
        snprintf(name, sizeof name, "round, %d threads%s", n, n > 2 ? " (> cores)" : "");
        bench_row("Barrier", name, BENCH_TIME, bench_median(a, reps), bench_median(b, reps),
                  "pthread_barrier", "ns/round", n == 8 ? "<= 1.0" : "<= 0.8", NULL);
    }
}
