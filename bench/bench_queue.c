/* Queue and Executor benchmarks (the executor part is at the end).
 *
 * Queue vs the textbook queue (a ring buffer under one pthread_mutex_t and
 * two pthread_cond_t, "not empty" and "not full"; unbounded: the ring grows
 * by doubling, as ct_queue_t does).
 *
 * Throughput: P producers put N items each, C consumers get until they see
 * one of the C stop items the main thread puts after the producers ended;
 * items/s over the whole transfer.  1p/1c, 4p/4c and 1p/8c, with a 16-slot
 * bound and unbounded.  Runs of ct and pthread interleaved; medians.
 *
 * Hand-off latency: a fresh partner thread per run blocks in a get on an
 * empty queue; the main thread waits until the partner announced itself and
 * a further 200 µs (so the partner is parked, or at the end of its spin),
 * then puts one item; latency = from just before the put to the partner's
 * return.  The same with a Semaphore (release -> acquire) as the reference
 * the issue names, and with the textbook queue; >= 15 runs each,
 * interleaved, p50 and p90; placements "split" (CPUs 0 and 1) and "same"
 * (both on CPU 0), since hand-offs here are bimodal by placement
 * (TOOLCHAIN.md).
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cthreading.h>
#include "bench.h"

#define MAXREPS 16

/* ---- the textbook queue -------------------------------------------------------------- */
struct tb_queue {
    pthread_mutex_t m;
    pthread_cond_t not_empty, not_full;
    void **ring;
    size_t cap, head, count, maxsize;
};

static void tb_init(struct tb_queue *q, size_t maxsize)
{
    pthread_mutex_init(&q->m, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    q->cap = maxsize ? maxsize : 16;
    q->ring = malloc(q->cap * sizeof(void *));
    q->head = q->count = 0;
    q->maxsize = maxsize;
}

static void tb_destroy(struct tb_queue *q)
{
    free(q->ring);
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    pthread_mutex_destroy(&q->m);
}

static void tb_put(struct tb_queue *q, void *item)
{
    pthread_mutex_lock(&q->m);
    while (q->maxsize && q->count == q->maxsize)
        pthread_cond_wait(&q->not_full, &q->m);
    if (q->count == q->cap) {            /* unbounded: double, unwrapping the ring */
        void **r = malloc(2 * q->cap * sizeof(void *));
        for (size_t i = 0; i < q->count; i++)
            r[i] = q->ring[(q->head + i) % q->cap];
        free(q->ring);
        q->ring = r;
        q->head = 0;
        q->cap *= 2;
    }
    q->ring[(q->head + q->count) % q->cap] = item;
    q->count++;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->m);
}

static void *tb_get(struct tb_queue *q)
{
    void *item;
    pthread_mutex_lock(&q->m);
    while (q->count == 0)
        pthread_cond_wait(&q->not_empty, &q->m);
    item = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->m);
    return item;
}

/* ---- throughput ---------------------------------------------------------------------- */
struct tp {
    bool use_ct;
    int producers, consumers;
    long per_producer;
    ct_queue_t cq;
    struct tb_queue tq;
    atomic_int producers_left;
    atomic_long checksum;
};

static void q_put(struct tp *t, void *item)
{
    if (t->use_ct)
        (void)ct_queue_put(&t->cq, item, CT_FOREVER);
    else
        tb_put(&t->tq, item);
}

static void tp_body(void *arg, int idx)
{
    struct tp *t = arg;
    if (idx < t->producers) {
        for (long i = 1; i <= t->per_producer; i++)
            q_put(t, (void *)(uintptr_t)i);
        if (atomic_fetch_sub(&t->producers_left, 1) == 1)
            for (int c = 0; c < t->consumers; c++)
                q_put(t, NULL);                    /* stop items */
        return;
    }
    long sum = 0;
    for (;;) {
        void *item;
        if (t->use_ct)
            (void)ct_queue_get(&t->cq, &item, CT_FOREVER);
        else
            item = tb_get(&t->tq);
        if (item == NULL)
            break;
        sum += (long)(uintptr_t)item;
    }
    atomic_fetch_add(&t->checksum, sum);
}

/* Returns items/s. */
static double tp_run(bool use_ct, int p, int c, size_t maxsize, long total)
{
    static struct tp t;
    memset(&t, 0, sizeof t);
    t.use_ct = use_ct;
    t.producers = p;
    t.consumers = c;
    t.per_producer = total / p;
    atomic_store(&t.producers_left, p);
    if (use_ct)
        (void)ct_queue_init(&t.cq, CT_QUEUE_FIFO, maxsize, NULL);
    else
        tb_init(&t.tq, maxsize);
    int64_t t0 = bench_now_ns();
    bench_run_threads(p + c, tp_body, &t);
    double secs = (double)(bench_now_ns() - t0) / 1e9;
    long want = (long)p * (t.per_producer * (t.per_producer + 1) / 2);
    if (atomic_load(&t.checksum) != want) {
        fprintf(stderr, "bench_queue: checksum mismatch (%s)\n", use_ct ? "ct" : "textbook");
        exit(1);
    }
    if (use_ct)
        (void)ct_queue_destroy(&t.cq);
    else
        tb_destroy(&t.tq);
    return (double)(p * t.per_producer) / secs;
}

CT_BENCH(queue_throughput, 60)
{
    static const struct { int p, c; } shapes[] = { { 1, 1 }, { 4, 4 }, { 1, 8 } };
    long total = opt->quick ? 100000 : 400000;
    int reps = opt->reps > MAXREPS ? MAXREPS : opt->reps;

    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (int bounded = 1; bounded >= 0; bounded--) {
            double a[MAXREPS], b[MAXREPS];
            char name[64];
            size_t maxsize = bounded ? 16 : 0;
            for (int r = 0; r < reps; r++) {
                a[r] = tp_run(true, shapes[s].p, shapes[s].c, maxsize, total) / 1e6;
                b[r] = tp_run(false, shapes[s].p, shapes[s].c, maxsize, total) / 1e6;
            }
            snprintf(name, sizeof name, "%dp/%dc %s", shapes[s].p, shapes[s].c,
                     bounded ? "bounded 16" : "unbounded");
            bench_row("Queue", name, BENCH_RATE, bench_median(a, reps), bench_median(b, reps),
                      "mutex+2 conds ring", "Mitems/s",
                      (s < 2 && bounded) ? ">= 2" : ">= 1", NULL);
        }
    }
}

/* ---- hand-off latency ------------------------------------------------------------------ */
enum ho_kind { HO_CT_QUEUE, HO_TB_QUEUE, HO_CT_SEM };

struct handoff {
    enum ho_kind kind;
    int cpu;                       /* partner's CPU, or -1 */
    ct_queue_t cq;
    struct tb_queue tq;
    ct_sem_t sem;
    atomic_int ready;
    int64_t returned;
};

static void pin(pthread_t t, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)pthread_setaffinity_np(t, sizeof set, &set);
}

static void *ho_partner(void *arg)
{
    struct handoff *h = arg;
    void *item;
    if (h->cpu >= 0)
        pin(pthread_self(), h->cpu);
    atomic_store(&h->ready, 1);
    switch (h->kind) {
    case HO_CT_QUEUE: (void)ct_queue_get(&h->cq, &item, CT_FOREVER); break;
    case HO_TB_QUEUE: item = tb_get(&h->tq); bench_keep(item); break;
    case HO_CT_SEM: (void)ct_sem_acquire(&h->sem); break;
    }
    h->returned = bench_now_ns();
    return NULL;
}

/* One hand-off with a fresh partner; returns ns. */
static double ho_run(enum ho_kind kind, int partner_cpu)
{
    static struct handoff h;
    pthread_t t;
    memset(&h, 0, sizeof h);
    h.kind = kind;
    h.cpu = partner_cpu;
    (void)ct_queue_init(&h.cq, CT_QUEUE_FIFO, 0, NULL);
    (void)ct_queue_put(&h.cq, NULL, 0);           /* grow the buffer beforehand */
    {
        void *x;
        (void)ct_queue_get(&h.cq, &x, 0);
    }
    tb_init(&h.tq, 0);
    (void)ct_sem_init(&h.sem, 0);
    if (pthread_create(&t, NULL, ho_partner, &h) != 0) {
        perror("pthread_create");
        exit(1);
    }
    while (!atomic_load(&h.ready))
        sched_yield();
    int64_t until = bench_now_ns() + 200000;
    while (bench_now_ns() < until)
        ;
    int64_t t0 = bench_now_ns();
    switch (kind) {
    case HO_CT_QUEUE: (void)ct_queue_put(&h.cq, &h, 0); break;
    case HO_TB_QUEUE: tb_put(&h.tq, &h); break;
    case HO_CT_SEM: (void)ct_sem_release(&h.sem, 1); break;
    }
    pthread_join(t, NULL);
    double ns = (double)(h.returned - t0);
    (void)ct_queue_destroy(&h.cq);
    tb_destroy(&h.tq);
    return ns;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

#define HO_RUNS 31

CT_BENCH(queue_handoff, 61)
{
    static const struct { const char *name; int main_cpu, partner_cpu; } placements[] = {
        { "split", 0, 1 }, { "same", 0, 0 },
    };
    int runs = opt->quick ? 15 : HO_RUNS;
    cpu_set_t saved;
    bool two = sched_getaffinity(0, sizeof saved, &saved) == 0 && CPU_COUNT(&saved) >= 2;

    for (size_t p = 0; p < sizeof placements / sizeof placements[0]; p++) {
        double q[HO_RUNS], tb[HO_RUNS], s[HO_RUNS];
        char name[64], note[96];
        if (!two && placements[p].partner_cpu != placements[p].main_cpu)
            continue;
        pin(pthread_self(), placements[p].main_cpu);
        for (int r = 0; r < runs; r++) {
            q[r] = ho_run(HO_CT_QUEUE, placements[p].partner_cpu);
            tb[r] = ho_run(HO_TB_QUEUE, placements[p].partner_cpu);
            s[r] = ho_run(HO_CT_SEM, placements[p].partner_cpu);
        }
        double q50 = pct(q, runs, 0.5), q90 = pct(q, runs, 0.9);
        double t50 = pct(tb, runs, 0.5), t90 = pct(tb, runs, 0.9);
        double s50 = pct(s, runs, 0.5), s90 = pct(s, runs, 0.9);
        snprintf(name, sizeof name, "hand-off p50, %s", placements[p].name);
        snprintf(note, sizeof note, "%d fresh partners; textbook p50 %.0f ns", runs, t50);
        bench_row("Queue", name, BENCH_TIME, q50, s50, "Semaphore hand-off", "ns", "<= 1.5", note);
        snprintf(name, sizeof name, "hand-off p90, %s", placements[p].name);
        snprintf(note, sizeof note, "textbook p90 %.0f ns", t90);
        bench_row("Queue", name, BENCH_TIME, q90, s90, "Semaphore hand-off", "ns", NULL, note);
        snprintf(name, sizeof name, "hand-off p50 vs textbook, %s", placements[p].name);
        bench_row("Queue", name, BENCH_TIME, q50, t50, "mutex+2 conds ring", "ns", "<= 1", NULL);
    }
    (void)pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
}

/* ==== Executor vs a textbook pthread pool ================================================
 *
 * The textbook pool: a job list under one pthread_mutex_t with a
 * pthread_cond_t for the workers, N workers started up front; each job has a
 * done flag under its own mutex + cond that the submitter waits on.
 *
 * Round trip: one warm worker (started, and idle for a while), a fresh client
 * thread per run submits an empty task and waits for its result; >= 15 runs,
 * interleaved, p50 and p90.  Throughput: empty tasks from 1 and 4 submitters
 * with 2 and 4 workers, each submitter keeping WINDOW tasks in flight (it
 * waits for the oldest before reusing its future); tasks/s.
 */
struct tb_job {
    void *(*fn)(void *);
    void *arg, *result;
    struct tb_job *next;
    pthread_mutex_t m;
    pthread_cond_t c;
    int done;
};

struct tb_pool {
    pthread_mutex_t m;
    pthread_cond_t c;
    struct tb_job *head, *tail;
    bool stop;
    int nworkers;
    pthread_t tids[8];
};

static void *tb_worker(void *p)
{
    struct tb_pool *pool = p;
    for (;;) {
        pthread_mutex_lock(&pool->m);
        while (pool->head == NULL && !pool->stop)
            pthread_cond_wait(&pool->c, &pool->m);
        struct tb_job *j = pool->head;
        if (j == NULL) {
            pthread_mutex_unlock(&pool->m);
            return NULL;
        }
        pool->head = j->next;
        if (pool->head == NULL)
            pool->tail = NULL;
        pthread_mutex_unlock(&pool->m);
        void *r = j->fn(j->arg);
        pthread_mutex_lock(&j->m);
        j->result = r;
        j->done = 1;
        pthread_cond_signal(&j->c);
        pthread_mutex_unlock(&j->m);
    }
}

static void tb_pool_start(struct tb_pool *pool, int n)
{
    memset(pool, 0, sizeof *pool);
    pthread_mutex_init(&pool->m, NULL);
    pthread_cond_init(&pool->c, NULL);
    pool->nworkers = n;
    for (int i = 0; i < n; i++)
        pthread_create(&pool->tids[i], NULL, tb_worker, pool);
}

static void tb_pool_stop(struct tb_pool *pool)
{
    pthread_mutex_lock(&pool->m);
    pool->stop = true;
    pthread_cond_broadcast(&pool->c);
    pthread_mutex_unlock(&pool->m);
    for (int i = 0; i < pool->nworkers; i++)
        pthread_join(pool->tids[i], NULL);
    pthread_cond_destroy(&pool->c);
    pthread_mutex_destroy(&pool->m);
}

static void tb_job_init(struct tb_job *j)
{
    pthread_mutex_init(&j->m, NULL);
    pthread_cond_init(&j->c, NULL);
}

static void tb_job_destroy(struct tb_job *j)
{
    pthread_cond_destroy(&j->c);
    pthread_mutex_destroy(&j->m);
}

static void tb_submit(struct tb_pool *pool, struct tb_job *j, void *(*fn)(void *), void *arg)
{
    j->fn = fn;
    j->arg = arg;
    j->done = 0;
    j->next = NULL;
    pthread_mutex_lock(&pool->m);
    if (pool->tail)
        pool->tail->next = j;
    else
        pool->head = j;
    pool->tail = j;
    pthread_cond_signal(&pool->c);
    pthread_mutex_unlock(&pool->m);
}

static void *tb_result(struct tb_job *j)
{
    pthread_mutex_lock(&j->m);
    while (!j->done)
        pthread_cond_wait(&j->c, &j->m);
    pthread_mutex_unlock(&j->m);
    return j->result;
}

static void *empty_task(void *arg) { return arg; }

/* ---- round trip ---------------------------------------------------------------------- */
struct rt_client {
    bool use_ct;
    ct_executor_t *ex;
    struct tb_pool *pool;
    double ns;
};

static void *rt_client_main(void *p)
{
    struct rt_client *c = p;
    int64_t t0 = bench_now_ns();
    if (c->use_ct) {
        ct_future_t f = CT_FUTURE_INIT;
        void *out;
        (void)ct_executor_submit(c->ex, &f, empty_task, NULL);
        (void)ct_future_result(&f, &out, CT_FOREVER);
    } else {
        struct tb_job j;
        tb_job_init(&j);
        tb_submit(c->pool, &j, empty_task, NULL);
        (void)tb_result(&j);
        tb_job_destroy(&j);
    }
    c->ns = (double)(bench_now_ns() - t0);
    return NULL;
}

static double rt_run(bool use_ct, ct_executor_t *ex, struct tb_pool *pool)
{
    struct rt_client c = { use_ct, ex, pool, 0 };
    pthread_t t;
    /* The worker has been idle a while: past its spin, asleep. */
    int64_t until = bench_now_ns() + 300000;
    while (bench_now_ns() < until)
        ;
    pthread_create(&t, NULL, rt_client_main, &c);
    pthread_join(t, NULL);
    return c.ns;
}

CT_BENCH(executor_roundtrip, 62)
{
    int runs = opt->quick ? 15 : HO_RUNS;
    double a[HO_RUNS], b[HO_RUNS];
    ct_executor_t ex;
    ct_executor_options_t o = { .max_workers = 1 };
    struct tb_pool pool;
    char note[96];

    (void)ct_executor_init(&ex, &o);
    tb_pool_start(&pool, 1);
    (void)rt_run(true, &ex, &pool);                /* start and warm the worker */
    (void)rt_run(false, &ex, &pool);
    for (int r = 0; r < runs; r++) {
        a[r] = rt_run(true, &ex, &pool);
        b[r] = rt_run(false, &ex, &pool);
    }
    double a50 = pct(a, runs, 0.5), a90 = pct(a, runs, 0.9);
    double b50 = pct(b, runs, 0.5), b90 = pct(b, runs, 0.9);
    snprintf(note, sizeof note, "%d fresh clients, warm worker", runs);
    bench_row("Executor", "submit+result round trip p50", BENCH_TIME, a50, b50,
              "mutex+cond pool", "ns", "<= 0.5", note);
    bench_row("Executor", "submit+result round trip p90", BENCH_TIME, a90, b90,
              "mutex+cond pool", "ns", NULL, NULL);
    (void)ct_executor_shutdown(&ex, true, false);
    (void)ct_executor_destroy(&ex);
    tb_pool_stop(&pool);
}

/* ---- throughput ------------------------------------------------------------------------ */
#define WINDOW 64

struct ex_tp {
    bool use_ct;
    long per_submitter;
    ct_executor_t ex;
    struct tb_pool pool;
};

static void ex_tp_body(void *arg, int idx)
{
    struct ex_tp *t = arg;
    (void)idx;
    if (t->use_ct) {
        ct_future_t f[WINDOW];
        void *out;
        memset(f, 0, sizeof f);
        for (long i = 0; i < t->per_submitter; i++) {
            ct_future_t *s = &f[i % WINDOW];
            if (i >= WINDOW)
                (void)ct_future_result(s, &out, CT_FOREVER);
            (void)ct_executor_submit(&t->ex, s, empty_task, NULL);
        }
        for (int k = 0; k < WINDOW && k < t->per_submitter; k++)
            (void)ct_future_result(&f[k], &out, CT_FOREVER);
    } else {
        struct tb_job j[WINDOW];
        for (int k = 0; k < WINDOW; k++)
            tb_job_init(&j[k]);
        for (long i = 0; i < t->per_submitter; i++) {
            struct tb_job *s = &j[i % WINDOW];
            if (i >= WINDOW)
                (void)tb_result(s);
            tb_submit(&t->pool, s, empty_task, NULL);
        }
        for (int k = 0; k < WINDOW && k < t->per_submitter; k++)
            (void)tb_result(&j[k]);
        for (int k = 0; k < WINDOW; k++)
            tb_job_destroy(&j[k]);
    }
}

static double ex_tp_run(bool use_ct, int submitters, int workers, long total)
{
    static struct ex_tp t;
    memset(&t, 0, sizeof t);
    t.use_ct = use_ct;
    t.per_submitter = total / submitters;
    if (use_ct) {
        ct_executor_options_t o = { .max_workers = (unsigned)workers };
        (void)ct_executor_init(&t.ex, &o);
    } else {
        tb_pool_start(&t.pool, workers);
    }
    int64_t t0 = bench_now_ns();
    bench_run_threads(submitters, ex_tp_body, &t);
    double secs = (double)(bench_now_ns() - t0) / 1e9;
    if (use_ct) {
        (void)ct_executor_shutdown(&t.ex, true, false);
        (void)ct_executor_destroy(&t.ex);
    } else {
        tb_pool_stop(&t.pool);
    }
    return (double)(t.per_submitter * submitters) / secs;
}

CT_BENCH(executor_throughput, 63)
{
    static const struct { int s, w; } shapes[] = { { 1, 2 }, { 1, 4 }, { 4, 2 }, { 4, 4 } };
    long total = opt->quick ? 100000 : 1000000;
    int reps = opt->quick ? 3 : 5;

    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        double a[MAXREPS], b[MAXREPS];
        char name[64];
        for (int r = 0; r < reps; r++) {
            a[r] = ex_tp_run(true, shapes[k].s, shapes[k].w, total) / 1e6;
            b[r] = ex_tp_run(false, shapes[k].s, shapes[k].w, total) / 1e6;
        }
        snprintf(name, sizeof name, "empty tasks, %d submitter(s), %d workers", shapes[k].s,
                 shapes[k].w);
        bench_row("Executor", name, BENCH_RATE, bench_median(a, reps), bench_median(b, reps),
                  "mutex+cond pool", "Mtasks/s", ">= 1.5", NULL);
    }
}
