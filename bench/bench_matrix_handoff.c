/* cthreading-bench --matrix handoff: two-thread hand-off latency of
 * Semaphore, Event, Condition (over a ct Lock) and a 2-party Barrier, each
 * against its pthread twin, in three placements, plus the floor.
 * Parameters: bench_matrix.c.
 *
 * A run creates two FRESH threads (placement applied by each thread to
 * itself before the start), which then make `trips` round trips; thread 0
 * times them.  The per-run figure is µs per round trip; a cell reports the
 * p50 and p90 over `runs` runs, the ct and pthread runs interleaved (the
 * order alternating).  One round trip:
 *   Semaphore   0: release s0, acquire s1     1: acquire s0, release s1
 *               (twin: sem_t, sem_post/sem_wait)
 *   Event       0: set e0, wait e1, clear e1  1: wait e0, clear e0, set e1
 *               (twin: pthread mutex + cond + flag, broadcast on set)
 *   Condition   each thread in turn: acquire; wait until turn == me;
 *               turn = other; notify(1); release  (twin: mutex + pthread_cond_t)
 *   Barrier     one generation of a 2-party barrier (twin: pthread_barrier_t)
 *   floor       two threads spinning on one atomic word (0 stores 2i+1 and
 *               waits for 2i+2; 1 the other way round), sched_yield after
 *               every 32 failed polls so one CPU can share it at all.
 * Placements: free (no affinity), split (thread 0 on CPU 0, thread 1 on CPU
 * 1), same (both on CPU 0).
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cthreading.h>
#include "bench.h"
#include "matrix.h"

#define MAXRUNS 256

enum prim { P_SEM, P_EVENT, P_COND, P_BARRIER, NPRIM, P_FLOOR = NPRIM };
enum placement { PL_FREE, PL_SPLIT, PL_SAME, NPLACE };

static const char *const prim_names[] = { "Semaphore", "Event", "Condition", "Barrier",
                                          "floor" };
static const char *const twin_names[] = { "sem_t", "mutex+cond+flag", "pthread_cond_t",
                                          "pthread_barrier_t", "" };
static const char *const place_names[NPLACE] = { "free", "split", "same" };

struct hrun {
    enum prim prim;
    bool use_ct;
    enum placement place;
    long trips;
    atomic_int ready;
    atomic_bool go;
    int64_t t0, t1;                        /* thread 0's clock */
    ct_sem_t cs[2];
    sem_t ps[2];
    ct_event_t ce[2];
    struct pt_event pe[2];
    ct_lock_t l;
    ct_cond_t c;
    pthread_mutex_t m;
    pthread_cond_t pc;
    int turn;                              /* under l / m */
    ct_barrier_t cb;
    pthread_barrier_t pb;
    _Alignas(64) atomic_long word;         /* the floor */
};

struct hthread {
    struct hrun *r;
    int idx;
};

static void floor_wait(atomic_long *w, long v)
{
    for (unsigned polls = 1; atomic_load_explicit(w, memory_order_acquire) != v; polls++) {
        __builtin_ia32_pause();
        if (polls % 32 == 0)
            sched_yield();
    }
}

static void send(struct hrun *r, int out)
{
    switch (r->prim) {
    case P_SEM:
        if (r->use_ct) ct_sem_release(&r->cs[out], 1); else sem_post(&r->ps[out]);
        break;
    case P_EVENT:
        if (r->use_ct) ct_event_set(&r->ce[out]); else pt_event_set(&r->pe[out]);
        break;
    default:
        abort();
    }
}

static void receive(struct hrun *r, int in)
{
    switch (r->prim) {
    case P_SEM:
        if (r->use_ct) ct_sem_acquire(&r->cs[in]); else sem_wait(&r->ps[in]);
        break;
    case P_EVENT:
        if (r->use_ct) {
            ct_event_wait(&r->ce[in]);
            ct_event_clear(&r->ce[in]);
        } else {
            pt_event_wait(&r->pe[in]);
            pt_event_clear(&r->pe[in]);
        }
        break;
    default:
        abort();
    }
}

static void cond_turn(struct hrun *r, int me)
{
    if (r->use_ct) {
        ct_cond_acquire(&r->c);
        while (r->turn != me)
            ct_cond_wait(&r->c);
        r->turn = !me;
        ct_cond_notify(&r->c, 1);
        ct_cond_release(&r->c);
    } else {
        pthread_mutex_lock(&r->m);
        while (r->turn != me)
            pthread_cond_wait(&r->pc, &r->m);
        r->turn = !me;
        pthread_cond_signal(&r->pc);
        pthread_mutex_unlock(&r->m);
    }
}

static void *hthread_body(void *p)
{
    struct hthread *h = p;
    struct hrun *r = h->r;
    const int me = h->idx;
    if (r->place == PL_SPLIT)
        matrix_pin(me);
    else if (r->place == PL_SAME)
        matrix_pin(0);
    atomic_fetch_add(&r->ready, 1);
    while (!atomic_load_explicit(&r->go, memory_order_acquire))
        sched_yield();
    if (me == 0)
        r->t0 = bench_now_ns();
    for (long i = 0; i < r->trips; i++) {
        switch (r->prim) {
        case P_SEM:
        case P_EVENT:
            if (me == 0) {
                send(r, 0);
                receive(r, 1);
            } else {
                receive(r, 0);
                send(r, 1);
            }
            break;
        case P_COND:
            cond_turn(r, me);
            break;
        case P_BARRIER:
            if (r->use_ct)
                ct_barrier_wait(&r->cb);
            else
                pthread_barrier_wait(&r->pb);
            break;
        case P_FLOOR:
            if (me == 0) {
                atomic_store_explicit(&r->word, 2 * i + 1, memory_order_release);
                floor_wait(&r->word, 2 * i + 2);
            } else {
                floor_wait(&r->word, 2 * i + 1);
                atomic_store_explicit(&r->word, 2 * i + 2, memory_order_release);
            }
            break;
        }
    }
    if (me == 0)
        r->t1 = bench_now_ns();
    return NULL;
}

/* One run on two fresh threads; returns µs per round trip. */
static double handoff_run(enum prim prim, bool use_ct, enum placement place, long trips)
{
    static struct hrun r;
    struct hthread h[2];
    pthread_t tid[2];

    memset(&r, 0, sizeof r);
    r.prim = prim;
    r.use_ct = use_ct;
    r.place = place;
    r.trips = trips;
    for (int i = 0; i < 2; i++) {
        sem_init(&r.ps[i], 0, 0);
        pt_event_init(&r.pe[i]);
    }
    ct_cond_init(&r.c, &r.l);
    pthread_mutex_init(&r.m, NULL);
    pthread_cond_init(&r.pc, NULL);
    if (ct_barrier_init(&r.cb, 2, NULL, NULL, CT_FOREVER) != 0) {
        fprintf(stderr, "cthreading-bench: ct_barrier_init failed\n");
        exit(1);
    }
    pthread_barrier_init(&r.pb, NULL, 2);
    for (int i = 0; i < 2; i++) {
        h[i] = (struct hthread){ &r, i };
        if (pthread_create(&tid[i], NULL, hthread_body, &h[i]) != 0) {
            perror("pthread_create");
            exit(1);
        }
    }
    while (atomic_load(&r.ready) < 2)
        sched_yield();
    atomic_store_explicit(&r.go, true, memory_order_release);
    for (int i = 0; i < 2; i++)
        pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&r.pb);
    pthread_cond_destroy(&r.pc);
    pthread_mutex_destroy(&r.m);
    for (int i = 0; i < 2; i++) {
        sem_destroy(&r.ps[i]);
        pt_event_destroy(&r.pe[i]);
    }
    return (double)(r.t1 - r.t0) / 1e3 / (double)trips;
}

/* --only: a name is selected when it appears in the list, or when the list
 * names none of its kind (primitives or placements). */
static bool selected(const struct matrix_opts *o, const char *name, const char *const *kind,
                     int nkind)
{
    if (!o->only)
        return true;
    bool any = false;
    for (int i = 0; i < nkind; i++)
        any |= strcasestr(o->only, kind[i]) != NULL;
    return !any || strcasestr(o->only, name) != NULL;
}

void matrix_handoff(const struct matrix_opts *o)
{
    const int runs = o->runs < MAXRUNS ? o->runs : MAXRUNS;
    double worst = 0;
    char worst_cell[128] = "";
    double floor50[NPLACE] = { 0 };
    bool have_split = matrix_cpus() >= 2;

    printf("\nHand-off matrix: µs per round trip, p50/p90 over %d runs of %ld round trips, "
           "two fresh threads per run,\nct and pthread runs interleaved; placements: free, "
           "split (CPUs 0 and 1), same (both on CPU 0)\n", runs, o->trips);
    printf("%-10s %-6s %8s %8s %8s %8s  %9s %9s  %-18s\n", "primitive", "place", "ct p50",
           "ct p90", "pt p50", "pt p90", "ct90/pt50", "ct50/pt50", "pthread twin");
    for (int pl = 0; pl < NPLACE; pl++) {
        if ((pl == PL_SPLIT && !have_split) ||
            !selected(o, place_names[pl], place_names, NPLACE) ||
            !selected(o, "floor", prim_names, NPRIM + 1))
            continue;
        double f[MAXRUNS];
        for (int k = 0; k < runs; k++)
            f[k] = handoff_run(P_FLOOR, false, (enum placement)pl, o->trips);
        floor50[pl] = matrix_quantile(f, runs, 0.5);
        double f90 = matrix_quantile(f, runs, 0.9);
        printf("%-10s %-6s %8.3f %8.3f %8s %8s\n", "floor", place_names[pl], floor50[pl], f90,
               "", "");
        matrix_csv(o, "handoff", "floor", place_names[pl], "spin", "p50_us", floor50[pl]);
        matrix_csv(o, "handoff", "floor", place_names[pl], "spin", "p90_us", f90);
    }
    for (int p = 0; p < NPRIM; p++) {
        if (!selected(o, prim_names[p], prim_names, NPRIM + 1))
            continue;
        for (int pl = 0; pl < NPLACE; pl++) {
            if ((pl == PL_SPLIT && !have_split) ||
                !selected(o, place_names[pl], place_names, NPLACE))
                continue;
            double a[MAXRUNS], b[MAXRUNS];
            for (int k = 0; k < runs; k++) {
                bool ct_first = k % 2 == 0;
                double x = handoff_run((enum prim)p, ct_first, (enum placement)pl, o->trips);
                double y = handoff_run((enum prim)p, !ct_first, (enum placement)pl, o->trips);
                a[k] = ct_first ? x : y;
                b[k] = ct_first ? y : x;
            }
            double a50 = matrix_quantile(a, runs, 0.5), a90 = matrix_quantile(a, runs, 0.9);
            double b50 = matrix_quantile(b, runs, 0.5), b90 = matrix_quantile(b, runs, 0.9);
            printf("%-10s %-6s %8.3f %8.3f %8.3f %8.3f  %9.3f %9.3f  %-18s\n", prim_names[p],
                   place_names[pl], a50, a90, b50, b90, a90 / b50, a50 / b50, twin_names[p]);
            fflush(stdout);
            const char *c = prim_names[p], *q = place_names[pl];
            matrix_csv(o, "handoff", c, q, "ct", "p50_us", a50);
            matrix_csv(o, "handoff", c, q, "ct", "p90_us", a90);
            matrix_csv(o, "handoff", c, q, "pthread", "p50_us", b50);
            matrix_csv(o, "handoff", c, q, "pthread", "p90_us", b90);
            matrix_csv(o, "handoff", c, q, "ct_p90/pthread_p50", "ratio", a90 / b50);
            matrix_csv(o, "handoff", c, q, "ct_p50/pthread_p50", "ratio", a50 / b50);
            if (a90 / b50 > worst) {
                worst = a90 / b50;
                snprintf(worst_cell, sizeof worst_cell, "%s, %s: ct p90 / pthread p50 = %.3f",
                         prim_names[p], place_names[pl], worst);
            }
        }
    }
    printf("worst cell for ct (goal: ct p90 <= pthread p50 everywhere): %s\n", worst_cell);
}
