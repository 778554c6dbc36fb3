/* Timer: fires once after its interval; cancel before / after / racing the
 * deadline; join, is_alive, restart, callbacks that start/cancel timers;
 * 10,000 pending timers on one service thread; a blocking callback does not
 * delay other timers; bad input; fork.  Every test leaves no timer pending. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ct_test.h"
#include "helpers.h"
#include "internal/platform.h"

#ifndef _WIN32
#include <sys/wait.h>
#include <unistd.h>
#endif

/* Threads of this process, or -1 where we cannot tell (Linux only). */
static int count_threads(void)
{
#ifdef __linux__
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    fclose(f);
    return n;
#else
    return -1;
#endif
}

struct fire_rec {
    atomic_int runs;
    _Atomic int64_t fired_at;
};

static void record_fire(void *p)
{
    struct fire_rec *r = p;
    atomic_store(&r->fired_at, t_now());
    atomic_fetch_add(&r->runs, 1);
}

static void count_run(void *p) { atomic_fetch_add((atomic_int *)p, 1); }

Test(timer, zero_initialised_is_idle)
{
    ct_timer_t t = CT_TIMER_INIT, z;
    memset(&z, 0, sizeof z);
    cr_assert_not(ct_timer_is_alive(&t));
    cr_assert_not(ct_timer_is_alive(&z));
    cr_assert(ct_timer_cancel(&z), "a timer never started will not run");
    cr_assert_eq(ct_timer_join(&z, 0), CT_OK);
}

Test(timer, fires_once_after_interval, .timeout = 30)
{
    ct_timer_t t = CT_TIMER_INIT;
    struct fire_rec r = { 0 };
    int64_t t0 = t_now();

    cr_assert_eq(ct_timer_start(&t, CT_MS(30), record_fire, &r), CT_OK);
    cr_assert(ct_timer_is_alive(&t));
    cr_assert_eq(ct_timer_join(&t, T_SLACK), CT_OK);
    cr_assert_not(ct_timer_is_alive(&t));
    cr_assert_eq(atomic_load(&r.runs), 1);
    cr_assert_geq(atomic_load(&r.fired_at) - t0, CT_MS(30), "fired early");
    cr_assert_lt(atomic_load(&r.fired_at) - t0, CT_MS(30) + T_SLACK);
    cr_assert_not(ct_timer_cancel(&t), "it ran: cancel must say so");
    /* Never fires a second time: a later timer firing proves time passed. */
    ct_timer_t later = CT_TIMER_INIT;
    atomic_int later_runs = 0;
    cr_assert_eq(ct_timer_start(&later, CT_MS(20), count_run, &later_runs), CT_OK);
    cr_assert_eq(ct_timer_join(&later, T_SLACK), CT_OK);
    cr_assert_eq(atomic_load(&r.runs), 1);
}

Test(timer, zero_interval_fires)
{
    ct_timer_t t = CT_TIMER_INIT;
    atomic_int runs = 0;
    cr_assert_eq(ct_timer_start(&t, 0, count_run, &runs), CT_OK);
    cr_assert_eq(ct_timer_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(atomic_load(&runs), 1);
}

Test(timer, bad_input_changes_nothing)
{
    ct_timer_t t = CT_TIMER_INIT;
    atomic_int runs = 0;

    cr_assert_eq(ct_timer_start(&t, -1, count_run, &runs), CT_EINVAL);
    cr_assert_eq(ct_timer_start(&t, INT64_MIN, count_run, &runs), CT_EINVAL);
    cr_assert_eq(ct_timer_start(&t, CT_TIMEOUT_MAX + 1, count_run, &runs), CT_EOVERFLOW);
    cr_assert_not(ct_timer_is_alive(&t));

    cr_assert_eq(ct_timer_start(&t, CT_SEC(100), count_run, &runs), CT_OK);
    cr_assert_eq(ct_timer_start(&t, 0, count_run, &runs), CT_EPERM, "already pending");
    cr_assert(ct_timer_is_alive(&t));
    cr_assert_eq(ct_timer_join(&t, -2), CT_EINVAL);
    cr_assert_eq(ct_timer_join(&t, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
    cr_assert_eq(ct_timer_join(&t, CT_MS(20)), CT_ETIMEDOUT, "the EPERM start must not "
                 "have re-armed it with interval 0");
    cr_assert(ct_timer_cancel(&t));
    cr_assert_eq(ct_timer_join(&t, 0), CT_OK);
    cr_assert_eq(atomic_load(&runs), 0);

    /* The maximum interval is accepted (and cancelled). */
    cr_assert_eq(ct_timer_start(&t, CT_TIMEOUT_MAX, count_run, &runs), CT_OK);
    cr_assert(ct_timer_cancel(&t));
}

Test(timer, cancel_before_deadline)
{
    ct_timer_t t = CT_TIMER_INIT, later = CT_TIMER_INIT;
    atomic_int runs = 0, later_runs = 0;

    cr_assert_eq(ct_timer_start(&t, CT_MS(20), count_run, &runs), CT_OK);
    cr_assert(ct_timer_cancel(&t));
    cr_assert_not(ct_timer_is_alive(&t));
    cr_assert(ct_timer_cancel(&t), "cancelling twice still says it will not run");
    cr_assert_eq(ct_timer_join(&t, 0), CT_OK);
    /* Wait past the cancelled deadline. */
    cr_assert_eq(ct_timer_start(&later, CT_MS(60), count_run, &later_runs), CT_OK);
    cr_assert_eq(ct_timer_join(&later, T_SLACK), CT_OK);
    cr_assert_eq(atomic_load(&runs), 0, "a cancelled timer ran");
}

Test(timer, cancel_after_run)
{
    ct_timer_t t = CT_TIMER_INIT;
    atomic_int runs = 0;
    cr_assert_eq(ct_timer_start(&t, CT_MS(1), count_run, &runs), CT_OK);
    cr_assert_eq(ct_timer_join(&t, T_SLACK), CT_OK);
    cr_assert_not(ct_timer_cancel(&t));
    cr_assert_eq(atomic_load(&runs), 1);
}

/* Racing the deadline: for every start, exactly one of "cancel returned true"
 * and "the function ran" happens. */
Test(timer, cancel_racing_deadline_exactly_one_outcome, .timeout = 120)
{
    enum { N = 3000, K = 4 };
    ct_timer_t t[K];
    atomic_int runs[K];
    int bad = 0, cancelled_total = 0, ran_total = 0;

    memset(t, 0, sizeof t);
    for (int k = 0; k < K; k++)
        atomic_init(&runs[k], 0);
    for (int i = 0; i < N; i++) {
        int before[K];
        bool cancelled[K];
        for (int k = 0; k < K; k++) {
            before[k] = atomic_load(&runs[k]);
            cr_assert_eq(ct_timer_start(&t[k], CT_US((i * 7 + k * 13) % 60), count_run,
                                        &runs[k]), CT_OK);
        }
        for (int spin = 0; spin < (i % 11) * 50; spin++)
            ct__cpu_relax();
        for (int k = 0; k < K; k++)
            cancelled[k] = ct_timer_cancel(&t[k]);
        for (int k = 0; k < K; k++) {
            cr_assert_eq(ct_timer_join(&t[k], T_SLACK), CT_OK);
            int ran = atomic_load(&runs[k]) - before[k];
            if (ran != (cancelled[k] ? 0 : 1))
                bad++;
            cancelled_total += cancelled[k];
            ran_total += ran;
        }
    }
    cr_assert_eq(bad, 0, "%d starts with both or neither outcome", bad);
    cr_assert_eq(cancelled_total + ran_total, N * K);
}

struct join_deadlock {
    ct_timer_t self, other;
    atomic_int other_runs;
    bool cancel_other, cancel_self;
    int join_self;
};

static void cancels_and_joins(void *p)
{
    struct join_deadlock *c = p;
    c->cancel_other = ct_timer_cancel(&c->other);
    c->cancel_self = ct_timer_cancel(&c->self);
    c->join_self = ct_timer_join(&c->self, CT_FOREVER);
}

Test(timer, callback_cancels_other_and_cannot_join_itself)
{
    struct join_deadlock c;
    memset(&c, 0, sizeof c);
    cr_assert_eq(ct_timer_start(&c.other, CT_SEC(100), count_run, &c.other_runs), CT_OK);
    cr_assert_eq(ct_timer_start(&c.self, 0, cancels_and_joins, &c), CT_OK);
    cr_assert_eq(ct_timer_join(&c.self, T_SLACK), CT_OK);
    cr_assert(c.cancel_other, "a callback cancels another pending timer");
    cr_assert_not(c.cancel_self, "its own function is running");
    cr_assert_eq(c.join_self, CT_EDEADLK);
    cr_assert_not(ct_timer_is_alive(&c.other));
    cr_assert_eq(atomic_load(&c.other_runs), 0);
}

struct self_restart {
    ct_timer_t t;
    atomic_int runs;
    int limit;
};

static void restart_self(void *p)
{
    struct self_restart *s = p;
    if (atomic_fetch_add(&s->runs, 1) + 1 < s->limit)
        (void)ct_timer_start(&s->t, CT_MS(1), restart_self, s);
}

Test(timer, restart_after_finish_and_from_own_callback)
{
    ct_timer_t t = CT_TIMER_INIT;
    atomic_int runs = 0;
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(ct_timer_start(&t, CT_MS(1), count_run, &runs), CT_OK);
        cr_assert_eq(ct_timer_join(&t, T_SLACK), CT_OK);
    }
    cr_assert_eq(atomic_load(&runs), 5);
    cr_assert_eq(ct_timer_start(&t, CT_SEC(100), count_run, &runs), CT_OK);
    cr_assert(ct_timer_cancel(&t));
    cr_assert_eq(ct_timer_start(&t, 0, count_run, &runs), CT_OK, "restart after cancel");
    cr_assert_eq(ct_timer_join(&t, T_SLACK), CT_OK);
    cr_assert_eq(atomic_load(&runs), 6);

    struct self_restart s;
    memset(&s, 0, sizeof s);
    s.limit = 10;
    cr_assert_eq(ct_timer_start(&s.t, 0, restart_self, &s), CT_OK);
    /* Alive across every restart: join returns after the last run only. */
    cr_assert_eq(ct_timer_join(&s.t, T_SLACK), CT_OK);
    cr_assert_eq(atomic_load(&s.runs), 10);
}

Test(timer, join_times_out_while_pending)
{
    ct_timer_t t = CT_TIMER_INIT;
    atomic_int runs = 0;
    int64_t t0;
    cr_assert_eq(ct_timer_start(&t, CT_SEC(100), count_run, &runs), CT_OK);
    cr_assert_eq(ct_timer_join(&t, 0), CT_ETIMEDOUT);
    t0 = t_now();
    cr_assert_eq(ct_timer_join(&t, CT_MS(30)), CT_ETIMEDOUT);
    cr_assert_geq(t_now() - t0, CT_MS(30));
    cr_assert(ct_timer_cancel(&t));
    cr_assert_eq(ct_timer_join(&t, CT_FOREVER), CT_OK);
}

struct canceller { ct_timer_t *t; atomic_int started; bool result; };

static void cancel_from_thread(void *p)
{
    struct canceller *c = p;
    atomic_store(&c->started, 1);
    t_pause(CT_MS(20));          /* widen: join is asleep */
    c->result = ct_timer_cancel(c->t);
}

Test(timer, cancel_wakes_joiner)
{
    ct_timer_t t = CT_TIMER_INIT;
    atomic_int runs = 0;
    struct canceller c = { .t = &t };
    ct_thread_t th;
    cr_assert_eq(ct_timer_start(&t, CT_SEC(100), count_run, &runs), CT_OK);
    cr_assert_eq(ct_thread_start(&th, cancel_from_thread, &c), CT_OK);
    cr_assert_eq(ct_timer_join(&t, T_SLACK), CT_OK);
    cr_assert_eq(ct_thread_join(&th, CT_FOREVER), CT_OK);
    cr_assert(c.result);
    cr_assert_eq(atomic_load(&runs), 0);
}

/* A callback that blocks until released does not delay another timer. */
struct blocker { atomic_int entered; uint32_t release; };

static void block_until_released(void *p)
{
    struct blocker *b = p;
    atomic_store(&b->entered, 1);
    while (atomic_load((_Atomic uint32_t *)&b->release) == 0)
        ct_wait(&b->release, 0, CT_FOREVER);
}

Test(timer, blocking_callback_does_not_delay_others, .timeout = 60)
{
    ct_timer_t slow = CT_TIMER_INIT, quick[8];
    struct fire_rec r[8];
    struct blocker b = { 0 };
    int64_t started;

    memset(quick, 0, sizeof quick);
    memset(r, 0, sizeof r);
    cr_assert_eq(ct_timer_start(&slow, 0, block_until_released, &b), CT_OK);
    cr_assert(t_await(&b.entered, T_SLACK));
    started = t_now();
    for (int i = 0; i < 8; i++)
        cr_assert_eq(ct_timer_start(&quick[i], CT_MS(5 + i), record_fire, &r[i]), CT_OK);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(ct_timer_join(&quick[i], T_SLACK), CT_OK, "timer %d waited for the "
                     "blocked callback", i);
    cr_assert(ct_timer_is_alive(&slow), "still blocked");
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(atomic_load(&r[i].runs), 1);
        cr_assert_geq(atomic_load(&r[i].fired_at) - started, CT_MS(5 + i));
    }
    atomic_store((_Atomic uint32_t *)&b.release, 1);
    ct_wake_all(&b.release);
    cr_assert_eq(ct_timer_join(&slow, T_SLACK), CT_OK);
}

/* 10,000 pending timers cost one service thread, not 10,000 threads. */
Test(timer, ten_thousand_timers_one_service_thread, .timeout = 120)
{
    enum { N = 10000 };
    ct_timer_t *t = calloc(N, sizeof *t);
    atomic_int runs = 0;
    int base = count_threads(), pending_threads;

    cr_assert_not_null(t);
    for (int i = 0; i < N; i++)
        cr_assert_eq(ct_timer_start(&t[i], CT_MS(400) + CT_US(i % 1000), count_run, &runs),
                     CT_OK);
    pending_threads = count_threads();
    for (int i = 0; i < N; i++)
        cr_assert_eq(ct_timer_join(&t[i], T_SLACK), CT_OK);
    cr_assert_eq(atomic_load(&runs), N);
    if (base > 0 && atomic_load(&runs) == N) {
        /* Earlier tests may have left idle pool threads (they exit after a
         * few idle seconds), counted in base; at most one service is added. */
        cr_assert_leq(pending_threads, base + 1, "threads: %d before, %d with %d pending",
                      base, pending_threads, N);
    }
    /* Half again, cancelled while pending: nothing runs. */
    for (int i = 0; i < N; i += 2)
        cr_assert_eq(ct_timer_start(&t[i], CT_SEC(100) - i, count_run, &runs), CT_OK);
    for (int i = 0; i < N; i += 2)
        cr_assert(ct_timer_cancel(&t[i]));
    cr_assert_eq(atomic_load(&runs), N);
    free(t);
}

/* Several threads start and cancel their own timers at random while the
 * service fires others: the heap stays consistent and every start ends in
 * exactly one outcome. */
struct churn {
    ct_timer_t t[64];
    atomic_int runs[64];
    bool armed[64];              /* started, and no cancel said "will not run" yet */
    int cancelled, started;
    unsigned seed;
};

static void churn_thread(void *p)
{
    struct churn *c = p;
    unsigned x = c->seed;
    for (int i = 0; i < 4000; i++) {
        x = x * 1103515245u + 12345u;
        int k = (int)((x >> 8) % 64);
        if ((x >> 20) & 1) {
            if (ct_timer_start(&c->t[k], CT_US((x >> 4) % 2000), count_run, &c->runs[k]) ==
                CT_OK) {
                c->started++;
                c->armed[k] = true;
            }
        } else if (ct_timer_cancel(&c->t[k]) && c->armed[k]) {
            c->cancelled++;            /* this start will not run */
            c->armed[k] = false;
        }
    }
    for (int k = 0; k < 64; k++)
        (void)ct_timer_join(&c->t[k], CT_FOREVER);
}

Test(timer, concurrent_start_cancel_churn, .timeout = 120)
{
    enum { T = 4 };
    struct churn *c = calloc(T, sizeof *c);
    ct_thread_t th[T];
    cr_assert_not_null(c);
    for (int i = 0; i < T; i++) {
        c[i].seed = (unsigned)i * 7919u + 1;
        cr_assert_eq(ct_thread_start(&th[i], churn_thread, &c[i]), CT_OK);
    }
    for (int i = 0; i < T; i++)
        cr_assert_eq(ct_thread_join(&th[i], CT_FOREVER), CT_OK);
    for (int i = 0; i < T; i++) {
        int runs = 0;
        for (int k = 0; k < 64; k++) {
            cr_assert_not(ct_timer_is_alive(&c[i].t[k]));
            runs += atomic_load(&c[i].runs[k]);
        }
        cr_assert_eq(runs + c[i].cancelled, c[i].started, "thread %d: %d ran + %d cancelled "
                     "!= %d started", i, runs, c[i].cancelled, c[i].started);
    }
    free(c);
}

/* TSan cannot start threads in the child of a multi-threaded fork, so the
 * test exists in the other builds only. */
#if !defined(_WIN32) && !defined(CT__TSAN)
/* After fork the child has a clean service: the parent's pending timer never
 * fires there, and the child can run timers of its own. */
static atomic_int fork_parent_runs;

Test(timer, fork_child_starts_clean, .timeout = 60)
{
    ct_timer_t parent = CT_TIMER_INIT, warm = CT_TIMER_INIT;
    atomic_int warm_runs = 0;
    int status = -1;
    pid_t pid;

    atomic_store(&fork_parent_runs, 0);
    /* Make sure the service and a worker exist at fork time. */
    cr_assert_eq(ct_timer_start(&warm, 0, count_run, &warm_runs), CT_OK);
    cr_assert_eq(ct_timer_join(&warm, T_SLACK), CT_OK);
    cr_assert_eq(ct_timer_start(&parent, CT_MS(50), count_run, &fork_parent_runs), CT_OK);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        ct_timer_t child = CT_TIMER_INIT;
        atomic_int child_runs = 0;
        int code = 0;
        if (ct_timer_is_alive(&parent))
            code |= 1;
        if (ct_timer_start(&child, CT_MS(150), count_run, &child_runs) != CT_OK)
            code |= 2;
        if (ct_timer_join(&child, CT_SEC(30)) != CT_OK || atomic_load(&child_runs) != 1)
            code |= 4;
        if (atomic_load(&fork_parent_runs) != 0)
            code |= 8;                 /* the parent's timer fired in the child */
        if (!ct_timer_cancel(&parent))
            code |= 16;
        if (ct_timer_start(&parent, 0, count_run, &fork_parent_runs) != CT_OK ||
            ct_timer_join(&parent, CT_SEC(30)) != CT_OK || atomic_load(&fork_parent_runs) != 1)
            code |= 32;
        _exit(code);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    cr_assert_eq(WEXITSTATUS(status), 0, "child failures: %#x", WEXITSTATUS(status));
    cr_assert_eq(ct_timer_join(&parent, T_SLACK), CT_OK);
    cr_assert_eq(atomic_load(&fork_parent_runs), 1, "the parent's timer runs in the parent");
}
#endif
