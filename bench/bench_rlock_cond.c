/* RLock vs a recursive pthread mutex; Condition vs pthread_cond + mutex:
 * sizes, uncontended and re-entrant cost, ping-pong latency, and
 * producer/consumer throughput (also with threads > cores).
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <cthreading.h>
#include "bench.h"

CT_BENCH(rlock_cond_sizes, 20)
{
    (void)opt;
    bench_row("size", "RLock vs pthread_mutex_t", BENCH_SIZE, sizeof(ct_rlock_t),
              sizeof(pthread_mutex_t), "", "bytes", "<= 16 B", NULL);
    bench_row("size", "Condition vs mutex + cond", BENCH_SIZE, sizeof(ct_cond_t),
              sizeof(pthread_mutex_t) + sizeof(pthread_cond_t), "", "bytes", "<= 32 B",
              "Condition includes its own RLock");
}

/* ---- RLock: uncontended and re-entrant ------------------------------------------ */
static ct_rlock_t ct_r;
static pthread_mutex_t pt_r;

static double rlock_ct(long n, bool nested)
{
    if (nested)
        ct_rlock_acquire(&ct_r);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        ct_rlock_acquire(&ct_r);
        bench_keep(i);
        ct_rlock_release(&ct_r);
    }
    double ns = (double)(bench_now_ns() - t0) / (double)n;
    if (nested)
        ct_rlock_release(&ct_r);
    return ns;
}

static double rlock_pt(long n, bool nested)
{
    if (nested)
        pthread_mutex_lock(&pt_r);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&pt_r);
        bench_keep(i);
        pthread_mutex_unlock(&pt_r);
    }
    double ns = (double)(bench_now_ns() - t0) / (double)n;
    if (nested)
        pthread_mutex_unlock(&pt_r);
    return ns;
}

CT_BENCH(rlock_uncontended, 21)
{
    long n = opt->quick ? 2000000 : 10000000;
    double a[16], b[16], c[16], d[16];
    pthread_mutexattr_t attr;

    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&pt_r, &attr);
    for (int r = 0; r < opt->reps; r++) {
        a[r] = rlock_ct(n, false);
        b[r] = rlock_pt(n, false);
        c[r] = rlock_ct(n, true);
        d[r] = rlock_pt(n, true);
    }
    bench_row("RLock", "uncontended acquire+release", BENCH_TIME, bench_median(a, opt->reps),
              bench_median(b, opt->reps), "pthread recursive", "ns/op", "<= 0.8", NULL);
    bench_row("RLock", "re-entry acquire+release", BENCH_TIME, bench_median(c, opt->reps),
              bench_median(d, opt->reps), "pthread recursive", "ns/op", "<= 0.5", NULL);
    pthread_mutex_destroy(&pt_r);
    pthread_mutexattr_destroy(&attr);
}

/* ---- Condition ping-pong: two threads alternate through one condition ------------- */
struct pingpong {
    bool use_ct;
    long rounds;
    int turn;                       /* whose move it is; under the lock */
    ct_lock_t l;
    ct_cond_t c;
    pthread_mutex_t m;
    pthread_cond_t pc;
};

static void pingpong_body(void *arg, int me)
{
    struct pingpong *p = arg;
    for (long i = 0; i < p->rounds; i++) {
        if (p->use_ct) {
            ct_cond_acquire(&p->c);
            while (p->turn != me)
                ct_cond_wait(&p->c);
            p->turn = !me;
            ct_cond_notify(&p->c, 1);
            ct_cond_release(&p->c);
        } else {
            pthread_mutex_lock(&p->m);
            while (p->turn != me)
                pthread_cond_wait(&p->pc, &p->m);
            p->turn = !me;
            pthread_cond_signal(&p->pc);
            pthread_mutex_unlock(&p->m);
        }
    }
}

/* Returns ns per round trip (two hand-offs). */
static double pingpong_run(bool use_ct, long rounds)
{
    static struct pingpong p;
    memset(&p, 0, sizeof p);
    p.use_ct = use_ct;
    p.rounds = rounds;
    ct_cond_init(&p.c, &p.l);
    pthread_mutex_init(&p.m, NULL);
    pthread_cond_init(&p.pc, NULL);
    int64_t t0 = bench_now_ns();
    bench_run_threads(2, pingpong_body, &p);
    double ns = (double)(bench_now_ns() - t0) / (double)rounds;
    pthread_cond_destroy(&p.pc);
    pthread_mutex_destroy(&p.m);
    return ns;
}

CT_BENCH(cond_pingpong, 22)
{
    long rounds = opt->quick ? 3000 : 20000;
    double a[16], b[16];
    for (int r = 0; r < opt->reps; r++) {
        a[r] = pingpong_run(true, rounds);
        b[r] = pingpong_run(false, rounds);
    }
    bench_row("Condition", "ping-pong round trip (over Lock)", BENCH_TIME,
              bench_median(a, opt->reps) / 1000.0, bench_median(b, opt->reps) / 1000.0,
              "pthread_cond", "us/rt", "<= 0.5", NULL);
}

/* ---- producer/consumer through a bounded buffer ----------------------------------- */
#define PC_SLOTS 16

struct prodcons {
    bool use_ct;
    int producers, consumers;
    long per_producer;
    ct_lock_t l;
    ct_cond_t not_full, not_empty;
    pthread_mutex_t m;
    pthread_cond_t pnot_full, pnot_empty;
    long buf[PC_SLOTS];
    int head, count, producers_left;
    long consumed, sum;
};

static void pc_lock(struct prodcons *q)
{
    if (q->use_ct)
        ct_lock_acquire(&q->l);
    else
        pthread_mutex_lock(&q->m);
}

static void pc_unlock(struct prodcons *q)
{
    if (q->use_ct)
        ct_lock_release(&q->l);
    else
        pthread_mutex_unlock(&q->m);
}

static void pc_wait(struct prodcons *q, bool full)
{
    if (q->use_ct)
        ct_cond_wait(full ? &q->not_full : &q->not_empty);
    else
        pthread_cond_wait(full ? &q->pnot_full : &q->pnot_empty, &q->m);
}

static void pc_signal(struct prodcons *q, bool full, bool all)
{
    if (q->use_ct) {
        ct_cond_t *c = full ? &q->not_full : &q->not_empty;
        if (all)
            ct_cond_notify_all(c);
        else
            ct_cond_notify(c, 1);
    } else {
        pthread_cond_t *c = full ? &q->pnot_full : &q->pnot_empty;
        if (all)
            pthread_cond_broadcast(c);
        else
            pthread_cond_signal(c);
    }
}

static void prodcons_body(void *arg, int idx)
{
    struct prodcons *q = arg;
    if (idx < q->producers) {
        for (long i = 1; i <= q->per_producer; i++) {
            pc_lock(q);
            while (q->count == PC_SLOTS)
                pc_wait(q, true);
            q->buf[(q->head + q->count) % PC_SLOTS] = i;
            q->count++;
            pc_signal(q, false, false);
            pc_unlock(q);
        }
        pc_lock(q);
        if (--q->producers_left == 0)
            pc_signal(q, false, true);
        pc_unlock(q);
        return;
    }
    for (;;) {
        pc_lock(q);
        while (q->count == 0 && q->producers_left > 0)
            pc_wait(q, false);
        if (q->count == 0) {
            pc_unlock(q);
            return;
        }
        q->sum += q->buf[q->head];
        q->head = (q->head + 1) % PC_SLOTS;
        q->count--;
        q->consumed++;
        pc_signal(q, true, false);
        pc_unlock(q);
    }
}

/* Returns items per second, in millions. */
static double prodcons_run(bool use_ct, int producers, int consumers, long items)
{
    static struct prodcons q;
    memset(&q, 0, sizeof q);
    q.use_ct = use_ct;
    q.producers = producers;
    q.consumers = consumers;
    q.per_producer = items / producers;
    q.producers_left = producers;
    ct_cond_init(&q.not_full, &q.l);
    ct_cond_init(&q.not_empty, &q.l);
    pthread_mutex_init(&q.m, NULL);
    pthread_cond_init(&q.pnot_full, NULL);
    pthread_cond_init(&q.pnot_empty, NULL);
    int64_t t0 = bench_now_ns();
    bench_run_threads(producers + consumers, prodcons_body, &q);
    double secs = (double)(bench_now_ns() - t0) / 1e9;
    long n = q.per_producer * producers;
    if (q.consumed != n || q.sum != (long)producers * (q.per_producer * (q.per_producer + 1) / 2))
        fprintf(stderr, "bench: producer/consumer lost items!\n");
    pthread_cond_destroy(&q.pnot_full);
    pthread_cond_destroy(&q.pnot_empty);
    pthread_mutex_destroy(&q.m);
    return (double)n / secs / 1e6;
}

CT_BENCH(cond_prodcons, 23)
{
    static const int config[][2] = { { 1, 1 }, { 4, 4 } };
    long items = opt->quick ? 60000 : 400000;
    int reps = opt->quick ? 3 : 5;
    for (size_t k = 0; k < sizeof config / sizeof config[0]; k++) {
        double a[16], b[16];
        for (int r = 0; r < reps; r++) {
            a[r] = prodcons_run(true, config[k][0], config[k][1], items);
            b[r] = prodcons_run(false, config[k][0], config[k][1], items);
        }
        char name[64];
        snprintf(name, sizeof name, "producer/consumer %dp/%dc (16 slots)", config[k][0],
                 config[k][1]);
        bench_row("Condition", name, BENCH_RATE, bench_median(a, reps), bench_median(b, reps),
                  "pthread_cond", "Mitems/s", ">= 1.0", NULL);
    }
}
