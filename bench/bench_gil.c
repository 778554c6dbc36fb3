/* GIL: the convoy workload of bpo-7946 in both modes, two CPU-bound threads
 * sharing, and the uncontended PyGILState cost.
 *
 * Convoy: one CPU-bound thread holds the GIL and polls every ~100 work units;
 * one I/O-bound thread does blocking round trips through a socketpair to an
 * echo thread (which never touches the GIL), releasing the GIL around each
 * round trip (CT_BEGIN/END_ALLOW_THREADS).  The GIL has no pthread twin, so
 * these rows compare "with the other thread" (cthreading column) against
 * "alone" (reference column): ratio = with / alone.  The CPU-rate note also
 * gives the rate with the same I/O load running on a *separate* GIL: on a
 * 2-core machine the I/O and echo threads take CPU time from the CPU thread
 * whatever the GIL does, and that figure separates the two costs.
 * The p50 can stay low in classic mode on a machine whose thread wake-ups
 * are slow: the preempted CPU thread is still waking when the I/O thread is
 * back, and the I/O thread takes the free GIL again (CPython's condition
 * variable behaves the same); p99 and the mean show the convoy.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cthreading.h>
#include "bench.h"

static const char *mode_name(int mode) { return mode == CT_GIL_CLASSIC ? "classic" : "priority"; }

static void sleep_ns(int64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
    nanosleep(&ts, NULL);
}

/* ---- the CPU-bound thread ---------------------------------------------------- */
struct cpu_thread {
    ct_gil_t *g;
    atomic_bool stop;
    atomic_bool holding;
    atomic_long work;        /* units done; single writer, read by the driver */
    unsigned seed;
    long units_per_poll;     /* work units between two ct_gil_poll calls (0: 1) */
};

/* ~100 dependent multiply-adds between polls: "a few hundred instructions". */
static unsigned work_unit(unsigned x)
{
    for (int i = 0; i < 100; i++)
        x = x * 1103515245u + 12345u;
    return x;
}

static void *cpu_main(void *p)
{
    struct cpu_thread *c = p;
    unsigned x = c->seed + 1;
    long n = 0, per_poll = c->units_per_poll > 0 ? c->units_per_poll : 1;
    ct_gil_acquire(c->g);
    atomic_store(&c->holding, true);
    while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
        for (long k = 0; k < per_poll; k++)
            x = work_unit(x);
        n += per_poll;
        atomic_store_explicit(&c->work, n, memory_order_relaxed);
        ct_gil_poll(c->g);
    }
    bench_keep(x);
    ct_gil_release(c->g);
    return NULL;
}

static void start_cpu_every(struct cpu_thread *c, ct_gil_t *g, pthread_t *t, unsigned seed,
                            long units_per_poll)
{
    memset(c, 0, sizeof *c);
    c->g = g;
    c->seed = seed;
    c->units_per_poll = units_per_poll;
    pthread_create(t, NULL, cpu_main, c);
    while (!atomic_load(&c->holding))
        sleep_ns(100000);
}

static void start_cpu(struct cpu_thread *c, ct_gil_t *g, pthread_t *t, unsigned seed)
{
    start_cpu_every(c, g, t, seed, 1);
}

/* ---- the I/O-bound thread and its echo peer ---------------------------------- */
struct io_thread {
    ct_gil_t *g;
    int fd;
    int n;
    double *lat_us;
    atomic_bool started;
};

static void *echo_main(void *p)
{
    int fd = *(int *)p;
    char b;
    while (read(fd, &b, 1) == 1 && b != 'q')
        if (write(fd, &b, 1) != 1)
            break;
    return NULL;
}

static void *io_main(void *p)
{
    struct io_thread *io = p;
    char b = 'x';
    ct_gil_acquire(io->g);
    atomic_store(&io->started, true);
    for (int i = 0; i < io->n; i++) {
        int64_t t0 = bench_now_ns();
        CT_BEGIN_ALLOW_THREADS(io->g)
        if (write(io->fd, &b, 1) != 1 || read(io->fd, &b, 1) != 1)
            abort();
        CT_END_ALLOW_THREADS(io->g)
        io->lat_us[i] = (double)(bench_now_ns() - t0) / 1e3;
    }
    ct_gil_release(io->g);
    return NULL;
}

struct convoy_result { double p50, p99, mean, cpu_rate; };

static double percentile(double *v, int n, double q)
{
    bench_median(v, n);                      /* sorts v */
    int i = (int)(q * (n - 1) + 0.5);
    return v[i];
}

/* Runs n round trips, with or without the CPU-bound thread.  own_gil: the
 * I/O thread uses a GIL of its own (the machine-load baseline: same threads,
 * no GIL shared). */
static struct convoy_result run_io(int mode, int n, bool with_cpu, bool own_gil, long per_poll)
{
    struct convoy_result r = { 0, 0, 0, 0 };
    ct_gil_t g, g_io;
    int sv[2];
    pthread_t echo, io_t, cpu_t;
    struct cpu_thread cpu;
    struct io_thread io;
    double *lat = calloc((size_t)n, sizeof *lat);

    ct_gil_init(&g, mode);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        perror("socketpair");
        exit(1);
    }
    pthread_create(&echo, NULL, echo_main, &sv[1]);
    if (with_cpu)
        start_cpu_every(&cpu, &g, &cpu_t, 1, per_poll);
    ct_gil_init(&g_io, mode);
    io = (struct io_thread){ .g = own_gil ? &g_io : &g, .fd = sv[0], .n = n, .lat_us = lat };
    pthread_create(&io_t, NULL, io_main, &io);
    while (!atomic_load(&io.started))
        sleep_ns(20000);
    int64_t t0 = bench_now_ns();
    long w0 = with_cpu ? atomic_load(&cpu.work) : 0;
    pthread_join(io_t, NULL);
    if (with_cpu) {
        long w1 = atomic_load(&cpu.work);
        r.cpu_rate = (double)(w1 - w0) / ((double)(bench_now_ns() - t0) / 1e3);
        atomic_store(&cpu.stop, true);
        pthread_join(cpu_t, NULL);
    }
    if (write(sv[0], "q", 1) != 1)
        abort();
    pthread_join(echo, NULL);
    close(sv[0]);
    close(sv[1]);
    for (int i = 0; i < n; i++)
        r.mean += lat[i] / n;
    r.p50 = percentile(lat, n, 0.50);
    r.p99 = percentile(lat, n, 0.99);
    ct_gil_destroy(&g);
    ct_gil_destroy(&g_io);
    free(lat);
    return r;
}

/* The CPU thread alone for `secs`: work units per µs. */
static double run_cpu_alone(int mode, double secs, long per_poll)
{
    ct_gil_t g;
    pthread_t t;
    struct cpu_thread cpu;
    ct_gil_init(&g, mode);
    start_cpu_every(&cpu, &g, &t, 1, per_poll);
    int64_t t0 = bench_now_ns();
    long w0 = atomic_load(&cpu.work);
    sleep_ns((int64_t)(secs * 1e9));
    long w1 = atomic_load(&cpu.work);
    double rate = (double)(w1 - w0) / ((double)(bench_now_ns() - t0) / 1e3);
    atomic_store(&cpu.stop, true);
    pthread_join(t, NULL);
    ct_gil_destroy(&g);
    return rate;
}

static void convoy_rows(const struct bench_opts *opt, int mode)
{
    /* Classic mode with the CPU thread costs up to one switch interval (5 ms)
     * per round trip: --quick runs 100 of them once.  The other runs are
     * short, so they are interleaved (alone, with, alone, ...) `reps` times
     * and the medians reported. */
    int n_alone = 2000;
    int n_with = opt->quick && mode == CT_GIL_CLASSIC ? 100 : 2000;
    int reps = mode == CT_GIL_CLASSIC ? (opt->quick ? 1 : 3) : (opt->quick ? 3 : 7);
    double cpu_secs = opt->quick ? 0.04 : 0.2;
    double p50a[8], p99a[8], meana[8], p50w[8], p99w[8], meanw[8], ratea[8], ratew[8], rateb[8];
    char group[32], note[96];

    for (int r = 0; r < reps; r++) {
        struct convoy_result alone = run_io(mode, n_alone, false, false, 1);
        struct convoy_result with = run_io(mode, n_with, true, false, 1);
        rateb[r] = run_io(mode, n_alone, true, true, 1).cpu_rate;
        p50a[r] = alone.p50, p99a[r] = alone.p99, meana[r] = alone.mean;
        p50w[r] = with.p50, p99w[r] = with.p99, meanw[r] = with.mean;
        ratew[r] = with.cpu_rate;
        ratea[r] = run_cpu_alone(mode, cpu_secs, 1);
    }
    snprintf(group, sizeof group, "GIL %s", mode_name(mode));
    snprintf(note, sizeof note, "%d trips; with CPU: p99 %.0f us, mean %.0f; alone: p99 %.0f, mean %.0f",
             n_with, bench_median(p99w, reps), bench_median(meanw, reps),
             bench_median(p99a, reps), bench_median(meana, reps));
    bench_row(group, "convoy: I/O p50, with CPU thread", BENCH_TIME, bench_median(p50w, reps),
              bench_median(p50a, reps), "alone", "us",
              mode == CT_GIL_CLASSIC ? "~interval" : "<= 2", note);
    snprintf(note, sizeof note, "ref = CPU thread alone; same I/O load on a separate GIL: %.3g units/us",
             bench_median(rateb, reps));
    bench_row(group, "convoy: CPU rate, with I/O thread", BENCH_RATE, bench_median(ratew, reps),
              bench_median(ratea, reps), "alone", "units/us",
              mode == CT_GIL_CLASSIC ? NULL : ">= 0.9", note);
}

CT_BENCH(gil_convoy_classic, 50)
{
    convoy_rows(opt, CT_GIL_CLASSIC);
}

CT_BENCH(gil_convoy_priority, 51)
{
    convoy_rows(opt, CT_GIL_PRIORITY);
}

/* ---- the convoy workload at a set poll period ------------------------------------
 * The rows the GIL issue #19 measures: the CPU-bound thread polls after ~1 µs
 * and after ~50 µs of work (calibrated: work units per µs measured first),
 * the I/O thread does round trips as above.  Each segment runs, in this
 * order, the I/O thread alone, the I/O thread with the CPU thread, the CPU
 * thread with the same I/O load on a separate GIL (what the machine costs,
 * whatever the GIL does), and the CPU thread alone; the rows give the medians
 * over the segments of each figure and of the per-segment ratios. */

/* Work units per µs of this machine (each unit ~100 dependent multiply-adds). */
static double units_per_us(void)
{
    static double cached;
    if (cached > 0)
        return cached;
    double best = 0;
    unsigned x = 1;
    for (int r = 0; r < 5; r++) {
        int64_t t0 = bench_now_ns();
        for (int i = 0; i < 20000; i++)
            x = work_unit(x);
        double u = 20000.0 / ((double)(bench_now_ns() - t0) / 1e3);
        if (u > best)
            best = u;
    }
    bench_keep(x);
    cached = best;
    return cached;
}

static void poll_period_rows(const struct bench_opts *opt, int mode, int period_us)
{
    enum { MAX_SEG = 9 };
    long per_poll = (long)(units_per_us() * period_us + 0.5);
    /* Classic: each trip with the CPU thread waits about one switch interval
     * (5 ms), so it runs a few trips only. */
    int n_alone = opt->quick ? 1000 : 2000;
    int n_with = mode == CT_GIL_CLASSIC ? (opt->quick ? 20 : 60) : n_alone;
    int segs = opt->quick ? 4 : 7;
    double p50r[MAX_SEG], p99r[MAX_SEG], rater[MAX_SEG], rateb[MAX_SEG];
    double p50w[MAX_SEG], p50a[MAX_SEG], ratew[MAX_SEG], ratea[MAX_SEG];
    char group[32], name[64], note[96];

    if (per_poll < 1)
        per_poll = 1;
    for (int r = 0; r < segs; r++) {
        struct convoy_result alone = run_io(mode, n_alone, false, false, per_poll);
        struct convoy_result with = run_io(mode, n_with, true, false, per_poll);
        struct convoy_result machine = run_io(mode, n_alone, true, true, per_poll);
        double cpu_alone = run_cpu_alone(mode, opt->quick ? 0.03 : 0.1, per_poll);
        p50w[r] = with.p50, p50a[r] = alone.p50;
        p50r[r] = with.p50 / alone.p50;
        p99r[r] = with.p99 / alone.p99;
        ratew[r] = with.cpu_rate, ratea[r] = cpu_alone;
        rater[r] = with.cpu_rate / cpu_alone;
        rateb[r] = machine.cpu_rate / cpu_alone;
    }
    snprintf(group, sizeof group, "GIL %s", mode_name(mode));
    snprintf(name, sizeof name, "poll every %d us: I/O p50, with CPU", period_us);
    snprintf(note, sizeof note, "%d segs x %d trips; per-seg p50 ratio %.2f, p99 ratio %.2f",
             segs, n_with, bench_median(p50r, segs), bench_median(p99r, segs));
    bench_row(group, name, BENCH_TIME, bench_median(p50w, segs), bench_median(p50a, segs),
              "alone", "us",
              mode == CT_GIL_CLASSIC ? "~interval" : period_us <= 50 ? "<= 2" : NULL, note);
    snprintf(name, sizeof name, "poll every %d us: CPU rate, with I/O", period_us);
    snprintf(note, sizeof note, "per-seg ratio %.2f; I/O on a separate GIL: %.2f of alone",
             bench_median(rater, segs), bench_median(rateb, segs));
    bench_row(group, name, BENCH_RATE, bench_median(ratew, segs), bench_median(ratea, segs),
              "alone", "units/us", mode == CT_GIL_CLASSIC ? NULL : ">= 0.9", note);
}

CT_BENCH(gil_poll_period, 54)
{
    for (int mode = CT_GIL_CLASSIC; mode <= CT_GIL_PRIORITY; mode++) {
        poll_period_rows(opt, mode, 1);
        poll_period_rows(opt, mode, 50);
    }
    /* Longer periods, PRIORITY only (CLASSIC waits a switch interval per
     * trip whatever the period): the returner parks before the holder
     * polls, so these rows show the nudge's rule (NUDGE_WINDOW_NS in
     * src/gil.c); I/O p50 can be no lower than about one period. */
    poll_period_rows(opt, CT_GIL_PRIORITY, 120);
    poll_period_rows(opt, CT_GIL_PRIORITY, 500);
}

/* ---- two CPU-bound threads ----------------------------------------------------- */
CT_BENCH(gil_two_cpu, 52)
{
    double secs = opt->quick ? 0.2 : 1.0;
    for (int mode = CT_GIL_CLASSIC; mode <= CT_GIL_PRIORITY; mode++) {
        ct_gil_t g;
        pthread_t a, b;
        struct cpu_thread ca, cb;
        ct_gil_stats_t s0, s1;
        char group[32], note[96];

        ct_gil_init(&g, mode);
        start_cpu(&ca, &g, &a, 1);
        start_cpu(&cb, &g, &b, 2);
        ct_gil_stats(&g, &s0);
        long a0 = atomic_load(&ca.work), b0 = atomic_load(&cb.work);
        int64_t t0 = bench_now_ns();
        sleep_ns((int64_t)(secs * 1e9));
        ct_gil_stats(&g, &s1);
        long a1 = atomic_load(&ca.work), b1 = atomic_load(&cb.work);
        double el = (double)(bench_now_ns() - t0) / 1e9;
        atomic_store(&ca.stop, true);
        atomic_store(&cb.stop, true);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        ct_gil_destroy(&g);
        double wa = (double)(a1 - a0), wb = (double)(b1 - b0), tot = wa + wb > 0 ? wa + wb : 1;
        snprintf(group, sizeof group, "GIL %s", mode_name(mode));
        snprintf(note, sizeof note, "%.0f switches/s (5 ms interval: ~200), shares %.2f/%.2f",
                 (double)(s1.switches - s0.switches) / el, wa / tot, wb / tot);
        bench_row(group, "2 CPU-bound threads", BENCH_INFO, 0, 0, NULL, NULL, NULL, note);
    }
}

/* ---- uncontended ensure + release ----------------------------------------------- */
CT_BENCH(gil_ensure_uncontended, 53)
{
    long n = opt->quick ? 1000000 : 5000000;
    double a[16], b[16];
    ct_gil_t g;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

    ct_gil_init(&g, CT_GIL_PRIORITY);
    for (int r = 0; r < opt->reps; r++) {
        int64_t t0 = bench_now_ns();
        for (long i = 0; i < n; i++) {
            ct_gil_state_t st = ct_gil_ensure(&g);
            bench_keep(i);
            ct_gil_release_state(&g, st);
        }
        a[r] = (double)(bench_now_ns() - t0) / (double)n;
        t0 = bench_now_ns();
        for (long i = 0; i < n; i++) {
            pthread_mutex_lock(&m);
            bench_keep(i);
            pthread_mutex_unlock(&m);
        }
        b[r] = (double)(bench_now_ns() - t0) / (double)n;
    }
    ct_gil_destroy(&g);
    bench_row("GIL", "uncontended ensure+release_state", BENCH_TIME, bench_median(a, opt->reps),
              bench_median(b, opt->reps), "pthread_mutex", "ns/op", "<= 50 ns", NULL);
}
