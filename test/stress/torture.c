/* The torture driver: runs the primitives of torture_prims.h (see torture.h).
 *
 *   torture [--primitive NAME[,NAME...]|all] [--threads N] [--seconds S]
 *           [--total S] [--round-ms MS] [--seed X] [--no-signals] [--list]
 *
 * --seconds is per primitive; --total splits a budget evenly among the
 * selected primitives (the short ctest run uses --total).  Prints one line
 * per primitive (ops per kind, signals sent/delivered, failures) and a final
 * line; exits 0 iff no invariant failed and nothing hung.
 *
 * SPDX-License-Identifier: MIT
 */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "torture.h"
#include "internal/platform.h"

#if !defined(_WIN32)
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#define HAVE_SIGNALS 1
#endif

#define TORTURE_PRIM(n) extern const struct torture_prim torture_##n;
#include "torture_prims.h"
#undef TORTURE_PRIM
#define TORTURE_PRIM(n) &torture_##n,
static const struct torture_prim *const prims[] = {
#include "torture_prims.h"
};
#undef TORTURE_PRIM
#define NPRIMS (sizeof prims / sizeof prims[0])

#define MAX_THREADS 256

struct torture_run {
    const struct torture_prim *prim;
    void *state;
    int nthreads;
    atomic_int round_over;         /* workers finish their step and check in */
    atomic_int checked_in;
    _Atomic uint32_t round;        /* bumped to release checked-in workers */
    atomic_int quit;
    atomic_long failures;
#if HAVE_SIGNALS
    pthread_t tids[MAX_THREADS];
    atomic_int tid_ready[MAX_THREADS];
#endif
};

static int64_t wake_bound_ns = CT_SEC(10);


int64_t torture_wake_bound(void) { return wake_bound_ns; }

void torture_fail(struct torture_worker *w, const char *fmt, ...)
{
    va_list ap;
    long n = atomic_fetch_add(&w->run->failures, 1);
    if (n < 20) {                  /* the first few are enough */
        fprintf(stderr, "FAIL torture %s worker %d: ", w->run->prim->name, w->id);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
}

void torture_check_not_early(struct torture_worker *w, const char *what,
                             int64_t timeout_ns, int64_t took_ns)
{
    if (took_ns < timeout_ns)
        torture_fail(w, "%s timed out after %lld ns, shorter than its %lld ns timeout",
                     what, (long long)took_ns, (long long)timeout_ns);
}

void torture_delay(struct torture_worker *w)
{
    uint32_t r = torture_below(w, 100);
    if (r < 50)
        return;
    if (r < 85) {
        for (uint32_t i = torture_below(w, 200); i > 0; i--)
            atomic_signal_fence(memory_order_seq_cst);
    } else if (r < 95) {
#if HAVE_SIGNALS
        sched_yield();
#endif
    } else {
        uint32_t unused = 0;       /* a sleep of 1-50 us through the wait layer */
        (void)ct_wait(&unused, 0, CT_US(1 + torture_below(w, 50)));
    }
}

/* ---- signal storm ---------------------------------------------------------------- */
#if HAVE_SIGNALS
static atomic_long signals_delivered;
static atomic_int storm_stop;
static long signals_sent;
/* The storm is paused around every hang check: a signal interrupts a futex
 * wait, the wait layer re-checks the word and returns if it changed, so a
 * storm running during the check would pump the wake-ups a lost-wake-up bug
 * failed to deliver, and hide it.  storm_hold clears storm_paused and raises
 * storm_pause; the storm thread, which reads storm_pause before every sweep,
 * answers by setting storm_paused instead of sweeping, so once storm_paused
 * reads 1 again no sweep is in progress and none starts until storm_resume. */
static atomic_int storm_pause, storm_paused;

static void on_usr1(int sig)
{
    (void)sig;
    atomic_fetch_add_explicit(&signals_delivered, 1, memory_order_relaxed);
}

static void storm(void *p)
{
    struct torture_run *run = p;
    uint32_t unused = 0;
    while (!atomic_load(&storm_stop)) {
        if (atomic_load(&storm_pause)) {
            atomic_store(&storm_paused, 1);
            (void)ct_wait(&unused, 0, CT_US(100));
            continue;
        }
        for (int i = 0; i < run->nthreads; i++) {
            if (atomic_load(&run->tid_ready[i]) && pthread_kill(run->tids[i], SIGUSR1) == 0)
                signals_sent++;
        }
        (void)ct_wait(&unused, 0, CT_US(100));
    }
}

/* Stops the storm before a hang check (no signal is sent after it returns);
 * storm_resume restarts it. */
static void storm_hold(bool signals)
{
    if (!signals)
        return;
    atomic_store(&storm_paused, 0);
    atomic_store(&storm_pause, 1);
    while (!atomic_load(&storm_paused))
        (void)ct_wait((const uint32_t *)&storm_paused, 0, CT_US(50));
}

static void storm_resume(bool signals)
{
    if (signals)
        atomic_store(&storm_pause, 0);
}
#else
static void storm_hold(bool signals) { (void)signals; }
static void storm_resume(bool signals) { (void)signals; }
#endif

/* ---- workers ------------------------------------------------------------------------ */
static void worker_main(void *p)
{
    struct torture_worker *w = p;
    struct torture_run *run = w->run;
    uint32_t round = 0;

#if HAVE_SIGNALS
    run->tids[w->id] = pthread_self();
    atomic_store(&run->tid_ready[w->id], 1);
#endif
    for (;;) {
        while (!atomic_load_explicit(&run->round_over, memory_order_acquire))
            run->prim->step(run->state, w);
        atomic_fetch_add_explicit(&run->checked_in, 1, memory_order_acq_rel);
        while (atomic_load_explicit(&run->round, memory_order_acquire) == round)
            (void)ct_wait((const uint32_t *)&run->round, round, CT_MS(100));
        round++;
        if (atomic_load(&run->quit))
            break;
    }
#if HAVE_SIGNALS
    atomic_store(&run->tid_ready[w->id], 0);
#endif
}

static void report_stuck(struct torture_run *run, struct torture_worker *ws)
{
    int64_t now = torture_now();
    for (int i = 0; i < run->nthreads; i++) {
        int64_t since = atomic_load(&ws[i].step_since);
        if (since != 0)
            fprintf(stderr, "  worker %d in step '%s' for %.3f s\n", i,
                    atomic_load(&ws[i].step), (double)(now - since) / 1e9);
    }
}

struct prim_result { uint64_t counts[TORTURE_MAX_COUNTS]; long failures; };

static int run_one(const struct torture_prim *prim, int nthreads, double seconds,
                   int round_ms, uint64_t seed, bool signals, struct prim_result *res)
{
    static struct torture_worker ws[MAX_THREADS];
    static ct_thread_t threads[MAX_THREADS];
    static struct torture_run run;
    int64_t end, round_ns = CT_MS(round_ms);
    long rounds = 0;
#if HAVE_SIGNALS
    ct_thread_t storm_thread;
    long sent0 = signals_sent, delivered0 = atomic_load(&signals_delivered);
#endif

    memset(&run, 0, sizeof run);
    memset(ws, 0, sizeof ws);
    run.prim = prim;
    run.nthreads = nthreads;
    run.state = prim->setup(nthreads);
    for (int i = 0; i < nthreads; i++) {
        ws[i].id = i;
        ws[i].nthreads = nthreads;
        ws[i].rng = seed * 0x9E3779B97F4A7C15u + (uint64_t)i * 7919u + 1;
        ws[i].run = &run;
        if (ct_thread_start(&threads[i], worker_main, &ws[i]) != CT_OK) {
            fprintf(stderr, "torture: cannot start worker %d\n", i);
            exit(2);
        }
    }
#if defined(CT__TSAN)
    if (prim->no_signals_under_tsan)
        signals = false;
#endif
#if HAVE_SIGNALS
    atomic_store(&storm_stop, 0);
    atomic_store(&storm_pause, 0);
    atomic_store(&storm_paused, 0);
    if (signals && ct_thread_start(&storm_thread, storm, &run) != CT_OK)
        signals = false;
#else
    (void)signals;
#endif
    end = torture_now() + (int64_t)(seconds * 1e9);
    for (;;) {
        int64_t round_end = torture_now() + round_ns, deadline;
        uint32_t unused = 0;
        while (torture_now() < round_end)
            (void)ct_wait(&unused, 0, round_end - torture_now());
        /* End of round: every worker must check in within the bound, with
         * no signal to knock a stuck waiter out of its wait. */
        storm_hold(signals);
        atomic_store_explicit(&run.round_over, 1, memory_order_release);
        if (prim->stop)
            prim->stop(run.state);
        deadline = torture_now() + wake_bound_ns;
        while (atomic_load_explicit(&run.checked_in, memory_order_acquire) < nthreads) {
            if (torture_now() > deadline) {
                fprintf(stderr, "FAIL torture %s: %d of %d workers still busy %.1f s after "
                        "the round ended (lost wake-up or hang):\n", prim->name,
                        nthreads - atomic_load(&run.checked_in), nthreads,
                        (double)wake_bound_ns / 1e9);
                report_stuck(&run, ws);
                fflush(stderr);
                _Exit(1);           /* a stuck thread cannot be recovered */
            }
            (void)ct_wait(&unused, 0, CT_US(200));
        }
        rounds++;
        if (prim->quiesce)
            prim->quiesce(run.state, ws, nthreads);
        atomic_store(&run.checked_in, 0);
        atomic_store_explicit(&run.round_over, 0, memory_order_release);
        if (torture_now() >= end)
            atomic_store(&run.quit, 1);
        atomic_fetch_add_explicit(&run.round, 1, memory_order_release);
        storm_resume(signals);
        ct_wake_all((const uint32_t *)&run.round);
        if (atomic_load(&run.quit))
            break;
    }
#if HAVE_SIGNALS
    if (signals) {
        atomic_store(&storm_stop, 1);
        (void)ct_thread_join(&storm_thread, CT_FOREVER);
    }
#endif
    for (int i = 0; i < nthreads; i++) {
        /* Thread join with a timeout is itself under test here. */
        int rc = ct_thread_join(&threads[i], wake_bound_ns);
        if (rc != CT_OK) {
            fprintf(stderr, "FAIL torture %s: worker %d did not exit (%s)\n", prim->name, i,
                    ct_strerror(rc));
            _Exit(1);
        }
    }
    memset(res, 0, sizeof *res);
    for (int i = 0; i < nthreads; i++)
        for (int k = 0; k < TORTURE_MAX_COUNTS; k++)
            res->counts[k] += ws[i].counts[k];
    res->failures = atomic_load(&run.failures);
    prim->teardown(run.state);

    uint64_t total = 0;
    for (int k = 0; prim->count_names[k]; k++)
        total += res->counts[k];
    printf("torture %-8s threads=%d seconds=%.1f rounds=%ld ops=%llu (", prim->name, nthreads,
           seconds, rounds, (unsigned long long)total);
    for (int k = 0; prim->count_names[k]; k++)
        printf("%s%s=%llu", k ? " " : "", prim->count_names[k],
               (unsigned long long)res->counts[k]);
#if HAVE_SIGNALS
    printf(") signals sent=%ld delivered=%ld failures=%ld\n", signals_sent - sent0,
           atomic_load(&signals_delivered) - delivered0, res->failures);
#else
    printf(") signals=n/a failures=%ld\n", res->failures);
#endif
    fflush(stdout);
    return res->failures == 0 ? 0 : 1;
}

static bool selected(const char *list, const char *name)
{
    size_t n = strlen(name);
    if (strcmp(list, "all") == 0)
        return true;
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n) {
        if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return true;
    }
    return false;
}

static void usage(void)
{
    fprintf(stderr, "usage: torture [--primitive NAME[,NAME...]|all] [--threads N] "
            "[--seconds S | --total S] [--round-ms MS] [--seed X] [--no-signals] "
            "[--wake-bound-s S] [--list]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *which = "all";
    int nthreads = 16, round_ms = 200, nsel = 0, failed = 0;
    double seconds = 5, total = -1;
    uint64_t seed = 1;
    bool signals = true;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--list") == 0) {
            for (size_t k = 0; k < NPRIMS; k++)
                printf("%-8s %s\n", prims[k]->name, prims[k]->invariants);
            return 0;
        } else if (strcmp(a, "--no-signals") == 0) {
            signals = false;
        } else if (v == NULL) {
            usage();
        } else if (strcmp(a, "--primitive") == 0) {
            which = v, i++;
        } else if (strcmp(a, "--threads") == 0) {
            nthreads = atoi(v), i++;
        } else if (strcmp(a, "--seconds") == 0) {
            seconds = atof(v), i++;
        } else if (strcmp(a, "--total") == 0) {
            total = atof(v), i++;
        } else if (strcmp(a, "--round-ms") == 0) {
            round_ms = atoi(v), i++;
        } else if (strcmp(a, "--seed") == 0) {
            seed = strtoull(v, NULL, 0), i++;
        } else if (strcmp(a, "--wake-bound-s") == 0) {
            wake_bound_ns = (int64_t)(atof(v) * 1e9), i++;
        } else {
            usage();
        }
    }
    if (nthreads < 1 || nthreads > MAX_THREADS || round_ms < 1)
        usage();
    for (size_t k = 0; k < NPRIMS; k++)
        nsel += selected(which, prims[k]->name);
    if (nsel == 0) {
        fprintf(stderr, "torture: no primitive matches '%s' (see --list)\n", which);
        return 2;
    }
    if (total > 0)
        seconds = total / nsel;
#if HAVE_SIGNALS
    if (signals) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;            /* no SA_RESTART: interrupt every wait */
        sigaction(SIGUSR1, &sa, NULL);
    }
#endif
    uint64_t all_ops = 0;
    long all_failures = 0;
    for (size_t k = 0; k < NPRIMS; k++) {
        struct prim_result res;
        if (!selected(which, prims[k]->name))
            continue;
        failed |= run_one(prims[k], nthreads, seconds, round_ms, seed, signals, &res);
        for (int c = 0; prims[k]->count_names[c]; c++)
            all_ops += res.counts[c];
        all_failures += res.failures;
    }
    printf("torture %s: %d primitive(s), %d threads, %.1f s each, ops=%llu failures=%ld\n",
           failed ? "FAILED" : "passed", nsel, nthreads, seconds,
           (unsigned long long)all_ops, all_failures);
    return failed;
}

int64_t torture_bad_timeout(struct torture_worker *w, int *want)
{
    static const int64_t bad[] = { -2, -1000, INT64_MIN, CT_TIMEOUT_MAX + 1, INT64_MAX };
    int64_t t = bad[torture_below(w, (uint32_t)(sizeof bad / sizeof bad[0]))];
    *want = t < 0 ? CT_EINVAL : CT_EOVERFLOW;
    return t;
}

bool torture_timed_acquired(struct torture_worker *w, const char *what, int64_t timeout_ns,
                            int rc, int64_t took_ns, uint64_t *timeouts)
{
    if (rc == CT_OK)
        return true;
    if (rc == CT_ETIMEDOUT && timeout_ns != CT_FOREVER) {
        (*timeouts)++;
        torture_check_not_early(w, what, timeout_ns, took_ns);
    } else {
        torture_fail(w, "%s(%lld) returned %s", what, (long long)timeout_ns, ct_strerror(rc));
    }
    return false;
}
