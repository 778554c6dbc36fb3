/* Shared-memory regions (issue 21): cross-process hand-offs against the
 * process-shared pthread twins, and the uncontended cost of an object inside
 * a region against the same object in ordinary memory.  `--filter=shm`.
 *
 * shm_handoff_*: a run forks a FRESH child (placement applied before the
 * start), which then makes `trips` round trips with the parent over objects
 * in one anonymous region; the parent times them.  The per-run figure is µs
 * per round trip; a row reports the p50 and p90 over `runs` runs, the ct and
 * pthread runs interleaved (the order alternating).  One round trip:
 *   Lock       a baton of two Locks, both held at the start (a Lock may be
 *              released by any thread, as Python's):
 *              parent: release L0, acquire L1   child: acquire L0, release L1
 *              twin: a pshared mutex + pshared cond + a turn word (a
 *              pthread mutex cannot be released by a non-owner, so that is
 *              how a pthread program hands a baton between processes)
 *   Semaphore  parent: release s0, acquire s1   child: acquire s0, release s1
 *              twin: sem_t with pshared = 1
 *   Condition  each process in turn: acquire; wait until turn == me;
 *              turn = other; notify(1); release
 *              twin: the same pshared mutex + cond + turn as for Lock
 * Placements, as the hand-off matrix: free (no affinity), split (parent on
 * CPU 0, child on CPU 1), same (both on CPU 0).
 *
 * shm_uncontended: acquire+release of a Lock, an RLock and a Semaphore inside
 * a region, and in ordinary (static) memory while a region is mapped, each
 * against the ordinary object with no region mapped; interleaved, medians.
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
#include <sys/wait.h>
#include <unistd.h>

#include <cthreading.h>
#include "bench.h"
#include "matrix.h"

#define MAXRUNS 64

enum sprim { S_LOCK, S_SEM, S_COND, NSPRIM };
enum splace { SP_FREE, SP_SPLIT, SP_SAME, NSPLACE };

static const char *const sprim_rows[NSPRIM] = { "shm_handoff_lock", "shm_handoff_sem",
                                                "shm_handoff_cond" };
static const char *const sprim_names[NSPRIM] = { "Lock", "Semaphore", "Condition" };
static const char *const stwin_names[NSPRIM] = { "pshared mutex+cond", "pshared sem_t",
                                                 "pshared mutex+cond" };
static const char *const splace_names[NSPLACE] = { "free", "split", "same" };

/* Lives at the base of the region. */
struct srun {
    enum sprim prim;
    bool use_ct;
    long trips;
    int child_cpu;                         /* -1: no affinity */
    atomic_int ready;
    atomic_bool go;
    _Alignas(64) ct_lock_t l[2];
    _Alignas(64) ct_sem_t cs[2];
    _Alignas(64) ct_lock_t cl;
    ct_cond_t c;
    _Alignas(64) sem_t ps[2];
    _Alignas(64) pthread_mutex_t m;
    pthread_cond_t pc;
    int turn;                              /* under cl / m */
};

static void pin_self(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu < 0) {
        int n = matrix_cpus();
        for (int i = 0; i < n && i < CPU_SETSIZE; i++)
            CPU_SET(i, &set);
    } else {
        CPU_SET(cpu, &set);
    }
    sched_setaffinity(0, sizeof set, &set);
}

static void turn_step(struct srun *r, int me)
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

/* The parent is side 0, the child side 1. */
static void side(struct srun *r, int me)
{
    /* The Lock row's twin is the turn pattern (see the top of the file). */
    enum sprim p = r->prim == S_LOCK && !r->use_ct ? S_COND : r->prim;
    for (long i = 0; i < r->trips; i++) {
        switch (p) {
        case S_LOCK:
            if (me == 0) {
                ct_lock_release(&r->l[0]);
                ct_lock_acquire(&r->l[1]);
            } else {
                ct_lock_acquire(&r->l[0]);
                ct_lock_release(&r->l[1]);
            }
            break;
        case S_SEM:
            if (me == 0) {
                if (r->use_ct) ct_sem_release(&r->cs[0], 1); else sem_post(&r->ps[0]);
                if (r->use_ct) ct_sem_acquire(&r->cs[1]); else sem_wait(&r->ps[1]);
            } else {
                if (r->use_ct) ct_sem_acquire(&r->cs[0]); else sem_wait(&r->ps[0]);
                if (r->use_ct) ct_sem_release(&r->cs[1], 1); else sem_post(&r->ps[1]);
            }
            break;
        case S_COND:
            turn_step(r, me);
            break;
        default:
            abort();
        }
    }
}

/* One run in a fresh child; returns µs per round trip. */
static double shm_run(struct srun *r, enum sprim prim, bool use_ct, enum splace place,
                      long trips)
{
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;

    memset(r, 0, sizeof *r);
    r->prim = prim;
    r->use_ct = use_ct;
    r->trips = trips;
    r->child_cpu = place == SP_SPLIT ? 1 : place == SP_SAME ? 0 : -1;
    /* The baton: both Locks held at the start. */
    ct_lock_acquire(&r->l[0]);
    ct_lock_acquire(&r->l[1]);
    ct_cond_init(&r->c, &r->cl);
    sem_init(&r->ps[0], 1, 0);
    sem_init(&r->ps[1], 1, 0);
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&r->m, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_cond_init(&r->pc, &ca);
    pthread_condattr_destroy(&ca);

    pin_self(place == SP_FREE ? -1 : 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        if (r->child_cpu >= 0)
            pin_self(r->child_cpu);
        atomic_store(&r->ready, 1);
        while (!atomic_load_explicit(&r->go, memory_order_acquire))
            sched_yield();
        side(r, 1);
        _exit(0);
    }
    while (atomic_load_explicit(&r->ready, memory_order_acquire) == 0)
        sched_yield();
    int64_t t0 = bench_now_ns();
    atomic_store_explicit(&r->go, true, memory_order_release);
    side(r, 0);
    int64_t t1 = bench_now_ns();
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_shm: the child failed\n");
        exit(1);
    }
    pthread_cond_destroy(&r->pc);
    pthread_mutex_destroy(&r->m);
    sem_destroy(&r->ps[0]);
    sem_destroy(&r->ps[1]);
    pin_self(-1);
    return (double)(t1 - t0) / 1e3 / (double)trips;
}

static double p90(double *v, int n)
{
    bench_median(v, n);                    /* sorts */
    int i = (int)(0.9 * (n - 1) + 0.5);
    return v[i];
}

static ct_shm_t region;

static void *region_base(void)
{
    if (ct_shm_base(&region) == NULL && ct_shm_create(&region, NULL, 1 << 16) != CT_OK) {
        fprintf(stderr, "bench_shm: ct_shm_create failed\n");
        return NULL;
    }
    return ct_shm_base(&region);
}

CT_BENCH(shm_handoff, 70)
{
    struct srun *r = region_base();
    if (r == NULL)
        return;
    int runs = opt->quick ? 5 : 10;
    long trips = opt->quick ? 300 : 1000;
    int nplace = opt->quick ? 1 : (matrix_cpus() >= 2 ? NSPLACE : 1);
    for (int p = 0; p < NSPRIM; p++) {
        for (int pl = 0; pl < nplace; pl++) {
            double a[MAXRUNS], b[MAXRUNS], a9, b9;
            char name[64], note[96];
            for (int k = 0; k < runs; k++) {
                if (k % 2 == 0) {
                    a[k] = shm_run(r, (enum sprim)p, true, (enum splace)pl, trips);
                    b[k] = shm_run(r, (enum sprim)p, false, (enum splace)pl, trips);
                } else {
                    b[k] = shm_run(r, (enum sprim)p, false, (enum splace)pl, trips);
                    a[k] = shm_run(r, (enum sprim)p, true, (enum splace)pl, trips);
                }
            }
            double a5 = bench_median(a, runs), b5 = bench_median(b, runs);
            a9 = p90(a, runs);
            b9 = p90(b, runs);
            snprintf(name, sizeof name, "%s %s, 2 processes, %s", sprim_rows[p], sprim_names[p],
                     splace_names[pl]);
            snprintf(note, sizeof note, "p90 %.3g vs %.3g us (%.2f); %d runs x %ld trips", a9,
                     b9, b9 > 0 ? a9 / b9 : 0.0, runs, trips);
            bench_row("shm", name, BENCH_TIME, a5, b5, stwin_names[p], "us/round", "<= 1.0",
                      note);
        }
    }
}

/* ---- uncontended, inside a region vs outside ------------------------------------- */
enum ukind { U_LOCK, U_RLOCK, U_SEM, NUKIND };

struct uobj {
    _Alignas(64) ct_lock_t l;
    _Alignas(64) ct_rlock_t rl;
    _Alignas(64) ct_sem_t s;
};

static struct uobj ordinary;

/* ns per acquire+release. */
static double unc_run(struct uobj *o, enum ukind k, long n)
{
    int64_t t0 = bench_now_ns();
    switch (k) {
    case U_LOCK:
        for (long i = 0; i < n; i++) {
            ct_lock_acquire(&o->l);
            ct_lock_release(&o->l);
        }
        break;
    case U_RLOCK:
        for (long i = 0; i < n; i++) {
            ct_rlock_acquire(&o->rl);
            ct_rlock_release(&o->rl);
        }
        break;
    case U_SEM:
        for (long i = 0; i < n; i++) {
            ct_sem_acquire(&o->s);
            ct_sem_release(&o->s, 1);
        }
        break;
    default:
        abort();
    }
    return (double)(bench_now_ns() - t0) / (double)n;
}

/* Three variants per repeat, interleaved: the object in ordinary memory with
 * no region mapped in the process (the baseline: every program that never
 * maps one), the same object inside a region, and the ordinary object while
 * a region is mapped (ct__shm_contains then scans the slots where it asks).
 * The region is created and closed around each repeat. */
CT_BENCH(shm_uncontended, 69)
{
    static const char *const names[NUKIND] = { "Lock acq+rel", "RLock acq+rel",
                                               "Semaphore acq+rel" };
    ct_shm_t ureg = { 0 };
    if (ct_shm_base(&region) != NULL)
        ct_shm_close(&region);
    memset(&region, 0, sizeof region);
    int reps = opt->quick ? 5 : 15;
    long n = opt->quick ? 200000 : 2000000;
    memset(&ordinary, 0, sizeof ordinary);
    ct_sem_init(&ordinary.s, 1);
    for (int k = 0; k < NUKIND; k++) {
        double a[MAXRUNS], b[MAXRUNS], c[MAXRUNS];
        char name[64];
        for (int r = 0; r < reps; r++) {
            /* The baseline goes first on even repeats, last on odd ones. */
            if (r % 2 == 0)
                b[r] = unc_run(&ordinary, (enum ukind)k, n);
            if (ct_shm_create(&ureg, NULL, 1 << 16) != CT_OK) {
                fprintf(stderr, "bench_shm: ct_shm_create failed\n");
                return;
            }
            struct uobj *in = ct_shm_base(&ureg);
            ct_sem_init(&in->s, 1);
            if (!ct_shm_contains(in) || ct_shm_contains(&ordinary)) {
                fprintf(stderr, "bench_shm: region bookkeeping is off\n");
                return;
            }
            if (r % 2 == 0) {
                a[r] = unc_run(in, (enum ukind)k, n);
                c[r] = unc_run(&ordinary, (enum ukind)k, n);
            } else {
                c[r] = unc_run(&ordinary, (enum ukind)k, n);
                a[r] = unc_run(in, (enum ukind)k, n);
            }
            ct_shm_close(&ureg);
            if (r % 2 == 1)
                b[r] = unc_run(&ordinary, (enum ukind)k, n);
        }
        double base = bench_median(b, reps);
        snprintf(name, sizeof name, "shm_uncontended %s, in a region", names[k]);
        bench_row("shm", name, BENCH_TIME, bench_median(a, reps), base,
                  "ordinary, no region", "ns/op", "<= 1.05",
                  "ratio = in a region / ordinary memory, no region mapped");
        snprintf(name, sizeof name, "shm_uncontended %s, ordinary, region mapped", names[k]);
        bench_row("shm", name, BENCH_TIME, bench_median(c, reps), base,
                  "ordinary, no region", "ns/op", "<= 1.05",
                  "ratio = ordinary while a region is mapped / no region mapped");
    }
}
