/* cthreading-bench --matrix lock|rlock|handoff|all: the workload matrices.
 *
 * Parameters (full run; --quick in brackets; each can be overridden):
 *   lock, rlock   workloads: empty critical section; 10 steps in / 20 out;
 *                 40 in / 200 out; 200 in / 40 out (a step = one dependent
 *                 multiply-add the compiler must keep, matrix.h)
 *                 threads 1, 2, 4, 8, 16 (--max-threads; 16 oversubscribes
 *                 the 2-core VM 8x)
 *                 7 [5] rounds per cell (--rounds, >= 5), 200 [25] ms each
 *                 (--round-ms; >= 200 ms repeats within ~10 % at 8-16
 *                 threads, TOOLCHAIN.md), implementations interleaved,
 *                 fresh threads per round
 *                 peers: glibc pthread_mutex_t (rlock: PTHREAD_MUTEX_RECURSIVE),
 *                 the textbook futex lock (peer_textbook.h; rlock: owner +
 *                 count on it), absl::Mutex when built with libabsl-dev (lock
 *                 only)
 *                 uncontended row: 5M [1M] acquire+release per round, same
 *                 number of rounds, with a second thread alive
 *   handoff       Semaphore, Event, Condition over a Lock, 2-party Barrier vs
 *                 sem_t, mutex+cond+flag, pthread_cond_t, pthread_barrier_t,
 *                 plus the spinning floor; placements free, split (CPUs 0 and
 *                 1), same (CPU 0); 21 [15] runs per cell (--runs, >= 15) of
 *                 1000 [300] round trips (--trips), two fresh threads per run
 * Output: a table per matrix on stdout, and with --csv=FILE one line per
 * figure: matrix,case,param,impl,stat,value.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "matrix.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double matrix_quantile(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int k = (int)(q * (double)n + 0.999999) - 1;     /* nearest rank */
    return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

bool matrix_pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

int matrix_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    return CPU_ISSET(0, &set) && CPU_ISSET(1, &set) ? CPU_COUNT(&set) : 1;
}

void matrix_csv(const struct matrix_opts *o, const char *matrix, const char *kase,
                const char *param, const char *impl, const char *stat, double value)
{
    if (o->csv)
        fprintf(o->csv, "%s,%s,%s,%s,%s,%.6g\n", matrix, kase, param, impl, stat, value);
}

static void usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "usage: %s --matrix=lock|rlock|handoff|all [--quick] [--rounds=N] [--round-ms=MS]\n"
            "          [--runs=N] [--trips=N] [--max-threads=N] [--only=LIST] [--csv=FILE]\n"
            "  lock, rlock: 4 workloads (empty; 10 steps in/20 out; 40 in/200 out; 200 in/40\n"
            "    out) x threads 1..16, ct vs pthread, the textbook futex lock, absl::Mutex (if\n"
            "    built with libabsl-dev); rounds 7 of 200 ms (--quick: 5 of 25 ms), all\n"
            "    implementations interleaved, fresh threads per round; median acquisitions/s,\n"
            "    fairness (fewest/most acquisitions of one thread), exact counter check;\n"
            "    then the uncontended acquire+release row (a second thread alive)\n"
            "  handoff: Semaphore, Event, Condition, 2-party Barrier vs their pthread twins,\n"
            "    placements free / split (CPUs 0,1) / same (CPU 0), 21 runs of 1000 round\n"
            "    trips (--quick: 15 of 300), two fresh threads per run; p50/p90 us per round\n"
            "    trip, and the floor (two threads spinning on an atomic word)\n"
            "  --only=LIST: handoff cells whose primitive and placement both appear in LIST\n"
            "    (e.g. --only=Semaphore,Condition,same,split; a list without placements: all)\n"
            "  --csv=FILE: one line per figure, matrix,case,param,impl,stat,value\n",
            argv0);
}

static bool parse_num(const char *arg, const char *name, double *out)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0 || arg[n] != '=')
        return false;
    char *end;
    *out = strtod(arg + n + 1, &end);
    if (*end || *out <= 0) {
        fprintf(stderr, "cthreading-bench: bad value in %s\n", arg);
        exit(2);
    }
    return true;
}

int matrix_main(int argc, char **argv)
{
    struct matrix_opts o = { .quick = false, .max_threads = 16 };
    const char *which = NULL, *csv = NULL;
    double rounds = 0, round_ms = 0, runs = 0, trips = 0, maxt = 0, v;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--quick") == 0)
            o.quick = true;
        else if (strncmp(a, "--matrix=", 9) == 0)
            which = a + 9;
        else if (strcmp(a, "--matrix") == 0 && i + 1 < argc && argv[i + 1][0] != '-')
            which = argv[++i];
        else if (strcmp(a, "--matrix") == 0)
            continue;
        else if (strncmp(a, "--only=", 7) == 0)
            o.only = a + 7;
        else if (strncmp(a, "--csv=", 6) == 0)
            csv = a + 6;
        else if (strcmp(a, "--help") == 0) {
            usage(stdout, argv[0]);
            return 0;
        } else if (parse_num(a, "--rounds", &v)) rounds = v;
        else if (parse_num(a, "--round-ms", &v)) round_ms = v;
        else if (parse_num(a, "--runs", &v)) runs = v;
        else if (parse_num(a, "--trips", &v)) trips = v;
        else if (parse_num(a, "--max-threads", &v)) maxt = v;
        else {
            usage(stderr, argv[0]);
            return 2;
        }
    }
    bool all = which && strcmp(which, "all") == 0;
    bool lock = all || (which && strcmp(which, "lock") == 0);
    bool rlock = all || (which && strcmp(which, "rlock") == 0);
    bool handoff = all || (which && strcmp(which, "handoff") == 0);
    if (!lock && !rlock && !handoff) {
        usage(stderr, argv[0]);
        return 2;
    }
    o.rounds = rounds > 0 ? (int)rounds : o.quick ? 5 : 7;
    o.round_s = (round_ms > 0 ? round_ms : o.quick ? 25 : 200) / 1e3;
    o.runs = runs > 0 ? (int)runs : o.quick ? 15 : 21;
    o.trips = trips > 0 ? (long)trips : o.quick ? 300 : 1000;
    o.max_threads = maxt > 0 ? (int)maxt : 16;
    if (o.rounds > 64) o.rounds = 64;
    if (o.runs > 256) o.runs = 256;
    if (o.max_threads > 64) o.max_threads = 64;
    if (o.rounds < 5 || o.runs < 15)
        fprintf(stderr, "cthreading-bench: note: fewer than 5 rounds / 15 runs: medians and "
                "p90s are rough\n");
    if (csv) {
        o.csv = fopen(csv, "w");
        if (!o.csv) {
            perror(csv);
            return 1;
        }
        fprintf(o.csv, "matrix,case,param,impl,stat,value\n");
    }
    int64_t t0 = bench_now_ns();
    printf("cthreading-bench --matrix=%s%s (%d CPUs usable)\n", which, o.quick ? " --quick" : "",
           matrix_cpus());
    if (lock)
        matrix_lock(&o, false);
    if (rlock)
        matrix_lock(&o, true);
    if (handoff)
        matrix_handoff(&o);
    printf("\nTotal %.1f s.\n", (double)(bench_now_ns() - t0) / 1e9);
    if (o.csv && fclose(o.csv) != 0) {
        perror(csv);
        return 1;
    }
    return 0;
}
