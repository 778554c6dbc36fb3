/* cthreading-bench driver: options, the table, and a second live thread.
 *
 * glibc skips atomic instructions while a process has a single thread, which
 * would make pthread's uncontended paths look several times faster than they
 * are in real (multi-threaded) programs; a parked helper thread lives for the
 * whole run so both sides are measured in a multi-threaded process.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "matrix.h"

struct reg { const char *name; int order; bench_fn fn; };
static struct reg regs[64];
static int nregs;

struct row {
    char group[32], name[64], ref_name[48], unit[16], goal[16], note[96];
    enum bench_kind kind;
    double ct, ref;
};
static struct row rows[256];
static int nrows;

void bench_register(const char *name, int order, bench_fn fn)
{
    if (nregs < (int)(sizeof regs / sizeof regs[0]))
        regs[nregs++] = (struct reg){ name, order, fn };
}

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

void bench_row(const char *group, const char *name, enum bench_kind kind, double ct,
               double ref, const char *ref_name, const char *unit, const char *goal,
               const char *note)
{
    struct row *r;
    if (nrows >= (int)(sizeof rows / sizeof rows[0]))
        return;
    r = &rows[nrows++];
    copy(r->group, sizeof r->group, group);
    copy(r->name, sizeof r->name, name);
    copy(r->ref_name, sizeof r->ref_name, ref_name);
    copy(r->unit, sizeof r->unit, unit);
    copy(r->goal, sizeof r->goal, goal);
    copy(r->note, sizeof r->note, note);
    r->kind = kind;
    r->ct = ct;
    r->ref = ref;
    /* Progress goes to stderr so a long run shows life. */
    fprintf(stderr, "  %-10s %-34s done\n", group, name);
}

int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct start_gate {
    pthread_mutex_t m;
    pthread_cond_t c;
    int ready, total;
    bool go;
};

struct thread_arg {
    struct start_gate *gate;
    void (*fn)(void *, int);
    void *arg;
    int index;
};

static void *thread_body(void *p)
{
    struct thread_arg *a = p;
    pthread_mutex_lock(&a->gate->m);
    if (++a->gate->ready == a->gate->total) {
        a->gate->go = true;
        pthread_cond_broadcast(&a->gate->c);
    }
    while (!a->gate->go)
        pthread_cond_wait(&a->gate->c, &a->gate->m);
    pthread_mutex_unlock(&a->gate->m);
    a->fn(a->arg, a->index);
    return NULL;
}

void bench_run_threads(int n, void (*fn)(void *, int), void *arg)
{
    struct start_gate gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, n, false };
    pthread_t tids[64];
    struct thread_arg args[64];

    if (n > 64)
        n = 64;
    gate.total = n;
    for (int i = 0; i < n; i++) {
        args[i] = (struct thread_arg){ &gate, fn, arg, i };
        if (pthread_create(&tids[i], NULL, thread_body, &args[i]) != 0) {
            perror("pthread_create");
            exit(1);
        }
    }
    for (int i = 0; i < n; i++)
        pthread_join(tids[i], NULL);
}

static pthread_mutex_t idle_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_c = PTHREAD_COND_INITIALIZER;
static bool idle_stop;

static void *idle_thread(void *p)
{
    (void)p;
    pthread_mutex_lock(&idle_m);
    while (!idle_stop)
        pthread_cond_wait(&idle_c, &idle_m);
    pthread_mutex_unlock(&idle_m);
    return NULL;
}

static int cmp_reg(const void *a, const void *b)
{
    const struct reg *x = a, *y = b;
    return (x->order > y->order) - (x->order < y->order);
}

static void print_table(FILE *out)
{
    fprintf(out, "| group | benchmark | cthreading | pthread twin | unit | ratio | goal | notes |\n");
    fprintf(out, "|---|---|---:|---|---|---:|---|---|\n");
    for (int i = 0; i < nrows; i++) {
        struct row *r = &rows[i];
        if (r->kind == BENCH_INFO) {
            fprintf(out, "| %s | %s | | | | | | %s |\n", r->group, r->name, r->note);
            continue;
        }
        const char *fmt = r->kind == BENCH_SIZE ? "%.0f" : r->ct >= 100 ? "%.0f" : "%.3g";
        char ct[32], ref[64];
        snprintf(ct, sizeof ct, fmt, r->ct);
        snprintf(ref, sizeof ref, fmt, r->ref);
        fprintf(out, "| %s | %s | %s | %s %s | %s | %.2f | %s | %s |\n", r->group, r->name, ct,
                ref, r->ref_name, r->unit, r->ref > 0 ? r->ct / r->ref : 0.0, r->goal, r->note);
    }
}

int main(int argc, char **argv)
{
    struct bench_opts opt = { .quick = false, .reps = 7, .run_s = 0.5 };
    const char *filter = NULL;
    pthread_t idle;

    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--matrix", 8) == 0) {
            /* The workload matrices (bench_matrix.c) parse their own options. */
            pthread_create(&idle, NULL, idle_thread, NULL);
            int rc = matrix_main(argc, argv);
            pthread_mutex_lock(&idle_m);
            idle_stop = true;
            pthread_cond_broadcast(&idle_c);
            pthread_mutex_unlock(&idle_m);
            pthread_join(idle, NULL);
            return rc;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            opt.quick = true;
            opt.reps = 5;
            opt.run_s = 0.15;
        } else if (strncmp(argv[i], "--filter=", 9) == 0) {
            filter = argv[i] + 9;
        } else if (strcmp(argv[i], "--list") == 0) {
            for (int j = 0; j < nregs; j++)
                printf("%s\n", regs[j].name);
            return 0;
        } else {
            fprintf(stderr, "usage: %s [--quick] [--filter=NAME] [--list]\n"
                    "       %s --matrix=lock|rlock|handoff|all [--quick] ... (--matrix --help)\n",
                    argv[0], argv[0]);
            return 2;
        }
    }
    pthread_create(&idle, NULL, idle_thread, NULL);
    qsort(regs, (size_t)nregs, sizeof regs[0], cmp_reg);
    int64_t t0 = bench_now_ns();
    fprintf(stderr, "cthreading-bench%s: each row interleaves %d repeats of both sides "
            "and reports the medians\n", opt.quick ? " --quick" : "", opt.reps);
    for (int i = 0; i < nregs; i++)
        if (!filter || strstr(regs[i].name, filter))
            regs[i].fn(&opt);
    pthread_mutex_lock(&idle_m);
    idle_stop = true;
    pthread_cond_broadcast(&idle_c);
    pthread_mutex_unlock(&idle_m);
    pthread_join(idle, NULL);
    printf("\n");
    print_table(stdout);
    printf("\nratio = cthreading / pthread twin (time and size: lower is better; "
           "rates: higher is better).  Total %.1f s.\n", (bench_now_ns() - t0) / 1e9);
    return 0;
}
