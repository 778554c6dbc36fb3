/* cthreading-bench --matrix lock|rlock: contended throughput over a matrix of
 * workloads x thread counts, ct against its peers in the same process, plus
 * the uncontended acquire+release row.  Parameters: bench_matrix.c.
 *
 * A cell runs `rounds` rounds; each round runs every implementation once,
 * in an order that rotates with the round (so no implementation always goes
 * first after a quiet pause), each on `threads` freshly created threads for
 * `round_s` seconds.  A thread loops { lock; `in` steps on the shared state;
 * counter++; unlock; `out` steps on its own state } and counts its
 * acquisitions.  The cell reports, per implementation, the median of the
 * rounds' acquisitions/s and the median of the rounds' fairness (the fewest
 * acquisitions of one thread / the most of one thread; 1 = perfectly even).
 * After every round the protected counter must equal the sum of the
 * threads' counts, or the benchmark stops with exit status 1.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cthreading.h>
#include "bench.h"
#include "matrix.h"
#include "peer_textbook.h"
#ifdef CT_BENCH_HAVE_ABSL
#include "peer_absl.h"
#endif

#define MAXT 64
#define MAXROUNDS 64

enum impl { IMPL_CT, IMPL_PT, IMPL_TB, IMPL_ABSL, NIMPL };

static const char *const lock_names[NIMPL] = { "ct", "pthread", "textbook", "absl" };

struct workload {
    const char *name;
    int in, out;          /* steps inside / outside the critical section */
};

static const struct workload workloads[] = {
    { "empty", 0, 0 },
    { "short:10in/20out", 10, 20 },
    { "medium:40in/200out", 40, 200 },
    { "long:200in/40out", 200, 40 },
};
#define NWORK ((int)(sizeof workloads / sizeof workloads[0]))

struct slot {
    _Alignas(64) long ops;
};

struct round {
    bool recursive;
    int n, in, out;
    atomic_int ready;
    atomic_bool go, stop;
    _Alignas(64) ct_lock_t ct;
    ct_rlock_t ctr;
    pthread_mutex_t pt;
    struct textbook_lock tb;
    struct textbook_rlock tbr;
#ifdef CT_BENCH_HAVE_ABSL
    struct peer_absl_mutex absl;
#endif
    _Alignas(64) unsigned long counter;   /* under the lock */
    unsigned shared_x;                    /* under the lock */
    struct slot slot[MAXT];
};

struct worker {
    struct round *r;
    int idx;
};

static void await_go(struct round *r)
{
    atomic_fetch_add(&r->ready, 1);
    while (!atomic_load_explicit(&r->go, memory_order_acquire))
        sched_yield();
}

/* One worker function per implementation, so each lock call is compiled
 * directly into the loop (an inline fast path stays inline). */
#define MATRIX_WORKER(fn, LOCK, UNLOCK)                                                   \
    static void *fn(void *p)                                                              \
    {                                                                                     \
        struct worker *w = p;                                                             \
        struct round *r = w->r;                                                           \
        const int in = r->in, out = r->out;                                               \
        unsigned x = (unsigned)w->idx + 1;                                                \
        long ops = 0;                                                                     \
        await_go(r);                                                                      \
        while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {                   \
            LOCK;                                                                         \
            r->shared_x = matrix_steps(r->shared_x, in);                                  \
            r->counter++;                                                                 \
            UNLOCK;                                                                       \
            x = matrix_steps(x, out);                                                     \
            ops++;                                                                        \
        }                                                                                 \
        bench_keep(x);                                                                    \
        r->slot[w->idx].ops = ops;                                                        \
        return NULL;                                                                      \
    }

MATRIX_WORKER(work_ct, ct_lock_acquire(&r->ct), ct_lock_release(&r->ct))
MATRIX_WORKER(work_pt, pthread_mutex_lock(&r->pt), pthread_mutex_unlock(&r->pt))
MATRIX_WORKER(work_tb, textbook_lock(&r->tb), textbook_unlock(&r->tb))
MATRIX_WORKER(work_ctr, ct_rlock_acquire(&r->ctr), ct_rlock_release(&r->ctr))
MATRIX_WORKER(work_tbr, textbook_rlock(&r->tbr), textbook_runlock(&r->tbr))
#ifdef CT_BENCH_HAVE_ABSL
MATRIX_WORKER(work_absl, peer_absl_lock(&r->absl), peer_absl_unlock(&r->absl))
#endif

static bool impl_available(enum impl i, bool recursive)
{
    (void)recursive;
    if (i == IMPL_ABSL) {
#ifdef CT_BENCH_HAVE_ABSL
        return !recursive;            /* absl has no recursive mutex */
#else
        return false;
#endif
    }
    return true;
}

static void *(*worker_fn(enum impl i, bool recursive))(void *)
{
    switch (i) {
    case IMPL_CT: return recursive ? work_ctr : work_ct;
    case IMPL_PT: return work_pt;
    case IMPL_TB: return recursive ? work_tbr : work_tb;
#ifdef CT_BENCH_HAVE_ABSL
    case IMPL_ABSL: return work_absl;
#endif
    default: abort();
    }
}

static void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Runs one round; returns acquisitions/s and sets *fair (min / max count). */
static double run_round(const struct matrix_opts *o, enum impl impl, bool recursive,
                        const struct workload *wl, int n, double *fair)
{
    static struct round r;
    static struct worker w[MAXT];
    pthread_t tid[MAXT];
    pthread_mutexattr_t attr;

    memset(&r, 0, sizeof r);
    r.recursive = recursive;
    r.n = n;
    r.in = wl->in;
    r.out = wl->out;
    pthread_mutexattr_init(&attr);
    if (recursive)
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&r.pt, &attr);
    pthread_mutexattr_destroy(&attr);
#ifdef CT_BENCH_HAVE_ABSL
    if (impl == IMPL_ABSL)
        peer_absl_init(&r.absl);
#endif
    for (int i = 0; i < n; i++) {
        w[i] = (struct worker){ &r, i };
        if (pthread_create(&tid[i], NULL, worker_fn(impl, recursive), &w[i]) != 0) {
            perror("pthread_create");
            exit(1);
        }
    }
    while (atomic_load(&r.ready) < n)
        sched_yield();
    int64_t t0 = bench_now_ns();
    atomic_store_explicit(&r.go, true, memory_order_release);
    sleep_s(o->round_s);
    atomic_store(&r.stop, true);
    int64_t t1 = bench_now_ns();
    for (int i = 0; i < n; i++)
        pthread_join(tid[i], NULL);

    unsigned long total = 0;
    long lo = -1, hi = 0;
    for (int i = 0; i < n; i++) {
        long ops = r.slot[i].ops;
        total += (unsigned long)ops;
        if (lo < 0 || ops < lo) lo = ops;
        if (ops > hi) hi = ops;
    }
    if (r.counter != total) {
        fprintf(stderr, "cthreading-bench: %s %s, %s, %d threads: protected counter %lu != "
                "%lu acquisitions: mutual exclusion broken\n", lock_names[impl],
                recursive ? "RLock" : "Lock", wl->name, n, r.counter, total);
        exit(1);
    }
#ifdef CT_BENCH_HAVE_ABSL
    if (impl == IMPL_ABSL)
        peer_absl_destroy(&r.absl);
#endif
    pthread_mutex_destroy(&r.pt);
    *fair = hi > 0 ? (double)lo / (double)hi : 0.0;
    return (double)total / ((double)(t1 - t0) / 1e9);
}

/* ---- uncontended: acquire+release in a loop, a second thread alive --------- */
#define UNCONTENDED_LOOP(LOCK, UNLOCK)                                                   \
    do {                                                                                 \
        int64_t t0 = bench_now_ns();                                                     \
        for (long i = 0; i < iters; i++) {                                               \
            LOCK;                                                                        \
            bench_keep(i);                                                               \
            UNLOCK;                                                                      \
        }                                                                                \
        return (double)(bench_now_ns() - t0) / (double)iters;                            \
    } while (0)

static double uncontended(enum impl impl, bool recursive, long iters)
{
    static struct round r;
    static pthread_mutex_t ptr;          /* the recursive pthread mutex */
    static bool init;
    if (!init) {
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
        pthread_mutex_init(&ptr, &attr);
        pthread_mutexattr_destroy(&attr);
        pthread_mutex_init(&r.pt, NULL);
#ifdef CT_BENCH_HAVE_ABSL
        peer_absl_init(&r.absl);
#endif
        init = true;
    }
    switch (impl) {
    case IMPL_CT:
        if (recursive)
            UNCONTENDED_LOOP(ct_rlock_acquire(&r.ctr), ct_rlock_release(&r.ctr));
        UNCONTENDED_LOOP(ct_lock_acquire(&r.ct), ct_lock_release(&r.ct));
    case IMPL_PT:
        if (recursive)
            UNCONTENDED_LOOP(pthread_mutex_lock(&ptr), pthread_mutex_unlock(&ptr));
        UNCONTENDED_LOOP(pthread_mutex_lock(&r.pt), pthread_mutex_unlock(&r.pt));
    case IMPL_TB:
        if (recursive)
            UNCONTENDED_LOOP(textbook_rlock(&r.tbr), textbook_runlock(&r.tbr));
        UNCONTENDED_LOOP(textbook_lock(&r.tb), textbook_unlock(&r.tb));
#ifdef CT_BENCH_HAVE_ABSL
    case IMPL_ABSL:
        UNCONTENDED_LOOP(peer_absl_lock(&r.absl), peer_absl_unlock(&r.absl));
#endif
    default:
        abort();
    }
}

static void print_uncontended(const struct matrix_opts *o, bool recursive, const char *mx)
{
    long iters = o->quick ? 1000000 : 5000000;
    double v[NIMPL][MAXROUNDS], med[NIMPL];
    for (int k = 0; k < o->rounds; k++)
        for (int j = 0; j < NIMPL; j++) {
            enum impl i = (enum impl)((j + k) % NIMPL);
            if (impl_available(i, recursive))
                v[i][k] = uncontended(i, recursive, iters);
        }
    printf("uncontended acquire+release (a second thread alive), ns/op, median of %d:",
           o->rounds);
    for (int i = 0; i < NIMPL; i++) {
        if (!impl_available((enum impl)i, recursive))
            continue;
        med[i] = matrix_quantile(v[i], o->rounds, 0.5);
        printf("  %s %.2f", lock_names[i], med[i]);
        matrix_csv(o, mx, "uncontended", "1", lock_names[i], "ns_per_op", med[i]);
    }
    printf("\n  ratio ct/pthread%s = %.2f (goal <= %s)\n", recursive ? " recursive" : "",
           med[IMPL_CT] / med[IMPL_PT], recursive ? "0.8" : "0.7");
    matrix_csv(o, mx, "uncontended", "1", "ct/pthread", "ratio", med[IMPL_CT] / med[IMPL_PT]);
}

void matrix_lock(const struct matrix_opts *o, bool recursive)
{
    static const int all_threads[] = { 1, 2, 4, 8, 16, 32, 64 };
    const char *mx = recursive ? "rlock" : "lock";
    double worst = 1e300;
    char worst_cell[128] = "";

    printf("\n%s matrix: median acquisitions/s over %d interleaved rounds of %.0f ms, fresh "
           "threads per round;\nfair = fewest / most acquisitions of one thread (median of "
           "rounds); ratios = ct median / peer median (higher: ct faster)\n",
           recursive ? "RLock" : "Lock", o->rounds, o->round_s * 1e3);
    printf("%-19s %3s", "workload", "thr");
    for (int i = 0; i < NIMPL; i++)
        if (impl_available((enum impl)i, recursive))
            printf(" %9s", lock_names[i]);
    for (int i = 1; i < NIMPL; i++) {
        char h[32];
        snprintf(h, sizeof h, "ct/%s", lock_names[i]);
        if (impl_available((enum impl)i, recursive))
            printf(" %11s", h);
    }
    printf("  fair");
    for (int i = 0; i < NIMPL; i++)
        if (impl_available((enum impl)i, recursive))
            printf(" %.4s", lock_names[i]);
    printf("\n");

    for (int w = 0; w < NWORK; w++) {
        for (size_t t = 0; t < sizeof all_threads / sizeof all_threads[0]; t++) {
            int n = all_threads[t];
            if (n > o->max_threads)
                break;
            double v[NIMPL][MAXROUNDS], f[NIMPL][MAXROUNDS], med[NIMPL], fair[NIMPL];
            for (int k = 0; k < o->rounds; k++)
                for (int j = 0; j < NIMPL; j++) {
                    enum impl i = (enum impl)((j + k) % NIMPL);
                    if (impl_available(i, recursive))
                        v[i][k] = run_round(o, i, recursive, &workloads[w], n, &f[i][k]);
                }
            char param[16];
            snprintf(param, sizeof param, "%d", n);
            printf("%-19s %3d", workloads[w].name, n);
            int best_peer = -1;
            for (int i = 0; i < NIMPL; i++) {
                if (!impl_available((enum impl)i, recursive))
                    continue;
                med[i] = matrix_quantile(v[i], o->rounds, 0.5);
                fair[i] = matrix_quantile(f[i], o->rounds, 0.5);
                double worst_fair = matrix_quantile(f[i], o->rounds, 0.0);
                printf(" %8.3gM", med[i] / 1e6);
                matrix_csv(o, mx, workloads[w].name, param, lock_names[i], "acq_per_s", med[i]);
                matrix_csv(o, mx, workloads[w].name, param, lock_names[i], "fair_median",
                           fair[i]);
                matrix_csv(o, mx, workloads[w].name, param, lock_names[i], "fair_min",
                           worst_fair);
                if (i != IMPL_CT && (best_peer < 0 || med[i] > med[best_peer]))
                    best_peer = i;
            }
            for (int i = 1; i < NIMPL; i++) {
                if (!impl_available((enum impl)i, recursive))
                    continue;
                char name[32];
                snprintf(name, sizeof name, "ct/%s", lock_names[i]);
                printf(" %11.2f", med[IMPL_CT] / med[i]);
                matrix_csv(o, mx, workloads[w].name, param, name, "ratio",
                           med[IMPL_CT] / med[i]);
            }
            printf("  ");
            for (int i = 0; i < NIMPL; i++)
                if (impl_available((enum impl)i, recursive))
                    printf(" %4.2f", fair[i]);
            printf("\n");
            fflush(stdout);
            double r = med[IMPL_CT] / med[best_peer];
            matrix_csv(o, mx, workloads[w].name, param, "ct/best", "ratio", r);
            if (r < worst) {
                worst = r;
                snprintf(worst_cell, sizeof worst_cell, "%s, %d threads: ct/%s = %.2f",
                         workloads[w].name, n, lock_names[best_peer], r);
            }
        }
    }
    printf("worst cell for ct against the best peer: %s\n", worst_cell);
    print_uncontended(o, recursive, mx);
}
