/* Executor and Future: CPython's ThreadPoolExecutor / Future behaviours
 * (results, FIFO start order, cancel before/while running, shutdown with and
 * without wait and cancel_futures, submit after shutdown, done callbacks),
 * and what is beyond CPython: initializer and finalizer on the worker thread
 * (checked by thread identity), idle retirement and restart (never two
 * resources alive with max_workers = 1), destroy refusing while futures are
 * unfinished, submits never waiting behind a running task. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ct_test.h"
#include "helpers.h"
#include "internal/executor.h"   /* white-box: the real layout */

/* ---- helpers ------------------------------------------------------------------------ */

struct gate {                      /* a task that blocks until opened */
    ct_event_t open;
    atomic_int entered;
    atomic_int ran;
    uint64_t ident;
};

static void *gated(void *p)
{
    struct gate *g = p;
    g->ident = ct_thread_ident();
    atomic_fetch_add(&g->entered, 1);
    ct_event_wait(&g->open);
    atomic_fetch_add(&g->ran, 1);
    return p;
}

static void *twice(void *p) { return (void *)((uintptr_t)p * 2); }

static atomic_int order_next;
static void *record_order(void *p)
{
    int *slot = p;
    *slot = atomic_fetch_add(&order_next, 1);
    return NULL;
}

static atomic_int never_ran;
static void *must_not_run(void *p)
{
    (void)p;
    atomic_fetch_add(&never_ran, 1);
    return NULL;
}

/* ---- init ------------------------------------------------------------------------- */

Test(executor, init_defaults_and_bad_options)
{
    ct_executor_t ex;
    ct_executor_options_t o = { 0 };
    ct_future_t f = CT_FUTURE_INIT;

    memset(&ex, 0, sizeof ex);
    cr_assert_eq(ct_executor_submit(&ex, &f, twice, NULL), CT_EINVAL, "not initialised");
    cr_assert_eq(ct_executor_shutdown(&ex, true, false), CT_EINVAL);
    cr_assert_eq(ct_executor_destroy(&ex), CT_EINVAL);
    o.idle_timeout_ns = -2;
    cr_assert_eq(ct_executor_init(&ex, &o), CT_EINVAL);
    o.idle_timeout_ns = CT_TIMEOUT_MAX + 1;
    cr_assert_eq(ct_executor_init(&ex, &o), CT_EOVERFLOW);
    o.idle_timeout_ns = CT_FOREVER;
    cr_assert_eq(ct_executor_init(&ex, &o), CT_OK, "CT_FOREVER: never retire");
    cr_assert_geq(ct__executor_of(&ex)->opts.max_workers, 5u, "min(32, CPUs + 4)");
    cr_assert_leq(ct__executor_of(&ex)->opts.max_workers, 32u);
    cr_assert_eq(ct_executor_shutdown(&ex, true, false), CT_OK);
    cr_assert_eq(ct_executor_destroy(&ex), CT_OK);
    cr_assert_eq(ct_executor_init(&ex, NULL), CT_OK, "NULL options");
    cr_assert_eq(ct_executor_destroy(&ex), CT_EBUSY, "not shut down");
    cr_assert_eq(ct_executor_shutdown(&ex, false, false), CT_OK);
    cr_assert_eq(ct_executor_shutdown(&ex, true, true), CT_OK, "again");
    cr_assert_eq(ct_executor_destroy(&ex), CT_OK);
    cr_assert_eq(ct_executor_destroy(&ex), CT_EINVAL, "destroyed");
}

/* ---- results, order ---------------------------------------------------------------------- */

Test(executor, results_of_many_tasks, .timeout = 60)
{
    ct_executor_t ex;
    static ct_future_t f[200];
    ct_executor_options_t o = { .max_workers = 4 };

    cr_assert_eq(ct_executor_init(&ex, &o), CT_OK);
    for (uintptr_t i = 0; i < 200; i++)
        cr_assert_eq(ct_executor_submit(&ex, &f[i], twice, (void *)i), CT_OK);
    for (uintptr_t i = 0; i < 200; i++) {
        void *out = NULL;
        cr_assert_eq(ct_future_result(&f[i], &out, CT_SEC(30)), CT_OK);
        cr_assert_eq((uintptr_t)out, 2 * i);
        cr_assert(ct_future_done(&f[i]));
        cr_assert_not(ct_future_cancelled(&f[i]));
        cr_assert_not(ct_future_cancel(&f[i]), "finished: cannot cancel");
        cr_assert_eq(ct_future_wait(&f[i], 0), CT_OK);
    }
    cr_assert_eq(ct_executor_shutdown(&ex, true, false), CT_OK);
    cr_assert_eq(ct_executor_destroy(&ex), CT_OK);
}

Test(executor, one_worker_starts_tasks_in_submission_order, .timeout = 60)
{
    ct_executor_t ex;
    ct_executor_options_t o = { .max_workers = 1 };
    struct gate g = { 0 };
    ct_future_t first = CT_FUTURE_INIT, f[50];
    int seq[50];

    atomic_store(&order_next, 0);
    cr_assert_eq(ct_executor_init(&ex, &o), CT_OK);
    cr_assert_eq(ct_executor_submit(&ex, &first, gated, &g), CT_OK);
    memset(f, 0, sizeof f);
    for (int i = 0; i < 50; i++)
        cr_assert_eq(ct_executor_submit(&ex, &f[i], record_order, &seq[i]), CT_OK);
    ct_event_set(&g.open);
    for (int i = 0; i < 50; i++) {
        cr_assert_eq(ct_future_wait(&f[i], CT_SEC(30)), CT_OK);
        cr_assert_eq(seq[i], i, "task %d started %d-th", i, seq[i]);
    }
    cr_assert_eq(ct_executor_shutdown(&ex, true, false), CT_OK);
    cr_assert_eq(ct_executor_destroy(&ex), CT_OK);
}

Test(executor, submit_never_waits_behind_a_running_task, .timeout = 60)
{
    ct_executor_t ex;
    ct_executor_options_t o = { .max_workers = 3 };
    struct gate g[3];
    ct_future_t f[3], extra = CT_FUTURE_INIT, quick = CT_FUTURE_INIT;
    void *out;

    memset(g, 0, sizeof g);
    memset(f, 0, sizeof f);
    cr_assert_eq(ct_executor_init(&ex, &o), CT_OK);
    cr_assert_eq(ct_executor_submit(&ex, &f[0], gated, &g[0]), CT_OK);
    cr_assert_eq(t_await(&g[0].entered, CT_SEC(30)), 1);
    cr_assert_eq(ct_executor_submit(&ex, &quick, twice, (void *)21), CT_OK);
    cr_assert_eq(ct_future_result(&quick, &out, CT_SEC(30)), CT_OK, "ran beside the blocked one");
    cr_assert_eq((uintptr_t)out, 42u);
    cr_assert_eq(ct_executor_submit(&ex, &f[1], gated, &g[1]), CT_OK);
    cr_assert_eq(ct_executor_submit(&ex, &f[2], gated, &g[2]), CT_OK);
    cr_assert_eq(t_await(&g[1].entered, CT_SEC(30)), 1);
    cr_assert_eq(t_await(&g[2].entered, CT_SEC(30)), 1);
    cr_assert_neq(g[0].ident, g[1].ident);
    cr_assert_neq(g[1].ident, g[2].ident);
    cr_assert_neq(g[0].ident, g[2].ident);
    /* max_workers reached: the next task waits for a free worker */
    cr_assert_eq(ct_executor_submit(&ex, &extra, twice, (void *)1), CT_OK);
    cr_assert_eq(ct_future_wait(&extra, CT_MS(50)), CT_ETIMEDOUT, "only 3 workers");
    cr_assert_eq(ct__executor_of(&ex)->nworkers, 3u);
    ct_event_set(&g[1].open);
    cr_assert_eq(ct_future_wait(&extra, CT_SEC(30)), CT_OK);
    ct_event_set(&g[0].open);
    ct_event_set(&g[2].open);
    cr_assert_eq(ct_executor_shutdown(&ex, true, false), CT_OK);
    for (int i = 0; i < 3; i++)
        cr_assert(ct_future_done(&f[i]), "shutdown(wait) waited for every task");
    cr_assert_eq(ct_executor_destroy(&ex), CT_OK);
}

/* ---- cancel ------------------------------------------------------------------------------ */

static void count_cb(ct_future_t *f, void *arg)
{
    (void)f;
    atomic_fetch_add((atomic_int *)arg, 1);
}

Test(executor, cancel_before_and_while_running, .timeout = 60)
{
    ct_executor_t ex;
    ct_executor_options_t o = { .max_workers = 1 };
    struct gate g = { 0 };
    ct_future_t running = CT_FUTURE_INIT, queued = CT_FUTURE_INIT, after = CT_FUTURE_INIT;
    atomic_int cbs = 0;
    void *out = (void *)7;

    atomic_store(&never_ran, 0);
    cr_assert_eq(ct_executor_init(&ex, &o), CT_OK);
    cr_assert_eq(ct_executor_submit(&ex, &running, gated, &g), CT_OK);
    cr_assert_eq(t_await(&g.entered, CT_SEC(30)), 1);
    cr_assert_eq(ct_executor_submit(&ex, &queued, must_not_run, NULL), CT_OK);
    cr_assert_eq(ct_executor_submit(&ex, &after, twice, (void *)5), CT_OK);
    cr_assert_eq(ct_executor_submit(&ex, &queued, twice, NULL), CT_EBUSY, "still pending");
    cr_assert_eq(ct_future_add_done_callback(&queued, count_cb, &cbs), CT_OK);
    cr_assert_not(ct_future_done(&queued));
    cr_assert(ct_future_cancel(&queued), "queued: cancelled");
    cr_assert_eq(atomic_load(&cbs), 1, "its callback ran before cancel returned");
    cr_assert(ct_future_done(&queued));
    cr_assert(ct_future_cancelled(&queued));
    cr_assert(ct_future_cancel(&queued), "again: still true");
    cr_assert_eq(ct_future_result(&queued, &out, 0), CT_ECANCELLED);
    cr_assert_eq((uintptr_t)out, 7u, "out untouched");
    cr_assert_eq(ct_future_wait(&queued, 0), CT_OK, "a cancelled future is done");
    cr_assert_not(ct_future_cancel(&running), "running: cannot cancel");
    cr_assert_not(ct_future_cancelled(&running));
    ct_event_set(&g.open);
    cr_assert_eq(ct_future_result(&after, &out, CT_SEC(30)), CT_OK);
    cr_assert_eq((uintptr_t)out, 10u);
    cr_assert_eq(ct_future_wait(&running, CT_SEC(30)), CT_OK);
    cr_assert_eq(ct_executor_shutdown(&ex, true, false), CT_OK);
    cr_assert_eq(atomic_load(&never_ran), 0, "a cancelled task never runs");
    cr_assert_eq(atomic_load(&cbs), 1, "callback exactly once");
    cr_assert_eq(ct_executor_destroy(&ex), CT_OK);
}

Test(executor, a_future_never_submitted)
{
    ct_future_t f = CT_FUTURE_INIT, g;
    void *out;

    cr_assert_not(ct_future_done(&f));
    cr_assert_eq(ct_future_wait(&f, CT_FOREVER), CT_EINVAL, "would never be done");
    cr_assert_eq(ct_future_result(&f, &out, CT_FOREVER), CT_EINVAL);
    cr_assert_eq(ct_future_add_done_callback(&f, count_cb, NULL), CT_EINVAL);
    memset(&g, 0, sizeof g);
    cr_assert(ct_future_cancel(&g));
    cr_assert(ct_future_cancelled(&g));
    cr_assert(ct_future_done(&g));
    cr_assert_eq(ct_future_result(&g, &out, 0), CT_ECANCELLED);
}

Test(executor, future_wait_times_out_and_checks_its_timeout, .timeout = 60)
{
    ct_executor_t ex;
    struct gate g = { 0 };
    ct_future_t f = CT_FUTURE_INIT;
    void *out;

    cr_assert_eq(ct_executor_init(&ex, NULL), CT_OK);
    cr_assert_eq(ct_executor_submit(&ex, &f, gated, &g), CT_OK);
    int64_t t0 = t_now();
    cr_assert_eq(ct_future_wait(&f, CT_MS(30)), CT_ETIMEDOUT);
    cr_assert_geq(t_now() - t0, CT_MS(30));
    cr_assert_eq(ct_future_result(&f, &out, 0), CT_ETIMEDOUT);
    cr_assert_eq(ct_future_wait(&f, -2), CT_EINVAL);
    cr_assert_eq(ct_future_result(&f, &out, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
    ct_event_set(&g.open);
    cr_assert_eq(ct_future_result(&f, &out, CT_FOREVER), CT_OK);
    cr_assert_eq(out, (void *)&g);
    cr_assert_eq(ct_future_wait(&f, -2), CT_EINVAL, "bad timeout even when done");
    cr_assert_eq(ct_executor_shutdown(&ex, true, false), CT_OK);
    cr_assert_eq(ct_executor_destroy(&ex), CT_OK);
}

/* ---- shutdown, destroy -------------------------------------------------------------------- */

Test(executor, shutdown_nowait_cancel_futures_and_submit_after, .timeout = 60)
{
    ct_executor_t ex;
    ct_executor_options_t o = { .max_workers = 1 };
    struct gate g = { 0 };
    ct_future_t running = CT_FUTURE_INIT, q[5], late = CT_FUTURE_INIT;
    atomic_int cbs = 0;
    uint64_t me = ct_thread_ident();

    atomic_store(&never_ran, 0);
    memset(q, 0, sizeof q);
    cr_assert_eq(ct_executor_init(&ex, &o), CT_OK);
    cr_assert_eq(ct_executor_submit(&ex, &running, gated, &g), CT_OK);
    cr_assert_eq(t_await(&g.entered, CT_SEC(30)), 1);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(ct_executor_submit(&ex, &q[i], must_not_run, NULL), CT_OK);
        cr_assert_eq(ct_future_add_done_callback(&q[i], count_cb, &cbs), CT_OK);
    }
    cr_assert_eq(ct_executor_shutdown(&ex, false, true), CT_OK);
    cr_assert_eq(atomic_load(&cbs), 5, "cancelled futures' callbacks ran in shutdown");
    for (int i = 0; i < 5; i++)
        cr_assert(ct_future_cancelled(&q[i]));
    cr_assert_not(ct_future_done(&running), "shutdown(wait=false) did not wait");
    cr_assert_eq(ct_executor_submit(&ex, &late, twice, NULL), CT_ESHUTDOWN);
    cr_assert_eq(ct_executor_destroy(&ex), CT_EBUSY, "a task still runs");
    ct_event_set(&g.open);
    cr_assert_eq(ct_future_wait(&running, CT_SEC(30)), CT_OK);
    cr_assert_neq(g.ident, me);
    cr_assert_eq(ct_executor_destroy(&ex), CT_OK, "every future finished");
    cr_assert_eq(atomic_load(&never_ran), 0);
}

Test(executor, shutdown_without_cancel_runs_the_queued_tasks, .timeout = 60)
{
    ct_executor_t ex;
    ct_executor_options_t o = { .max_workers = 2 };
    struct gate g = { 0 };
    ct_future_t first = CT_FUTURE_INIT, q[20];
    void *out;

    memset(q, 0, sizeof q);
    cr_assert_eq(ct_executor_init(&ex, &o), CT_OK);
    cr_assert_eq(ct_executor_submit(&ex, &first, gated, &g), CT_OK);
    for (uintptr_t i = 0; i < 20; i++)
        cr_assert_eq(ct_executor_submit(&ex, &q[i], twice, (void *)i), CT_OK);
    ct_event_set(&g.open);
    cr_assert_eq(ct_executor_shutdown(&ex, true, false), CT_OK);
    for (uintptr_t i = 0; i < 20; i++) {
        cr_assert(ct_future_done(&q[i]), "shutdown(wait) returned before task %lu",
                  (unsigned long)i);
        cr_assert_eq(ct_future_result(&q[i], &out, 0), CT_OK);
        cr_assert_eq((uintptr_t)out, 2 * i);
    }
    cr_assert_eq(ct__executor_of(&ex)->nworkers, 0u, "every worker exited");
    cr_assert_eq(ct_executor_destroy(&ex), CT_OK);
}

/* ---- initializer, finalizer, idle retirement ----------------------------------------------- */

struct life {
    atomic_int inits, finis, alive, overlap, fini_slots;
    uint64_t init_ident[64], fini_ident[64];
};

static void life_init(void *p)
{
    struct life *l = p;
    int i = atomic_fetch_add(&l->inits, 1);
    if (i < 64)
        l->init_ident[i] = ct_thread_ident();
    if (atomic_fetch_add(&l->alive, 1) != 0)
        atomic_fetch_add(&l->overlap, 1);
}

static void life_fini(void *p)
{
    struct life *l = p;
    atomic_fetch_sub(&l->alive, 1);
    int i = atomic_fetch_add(&l->fini_slots, 1);
    if (i < 64)
        l->fini_ident[i] = ct_thread_ident();
    atomic_fetch_add(&l->finis, 1);   /* publishes the ident: tests wait on finis */
}

static void *whoami(void *p)
{
    (void)p;
    return (void *)(uintptr_t)ct_thread_ident();
}

Test(executor, initializer_and_finalizer_run_on_the_worker_thread, .timeout = 60)
{
    ct_executor_t ex;
    struct life l = { 0 };
    ct_executor_options_t o = { .max_workers = 1, .initializer = life_init,
                                .finalizer = life_fini, .init_arg = &l };
    ct_future_t f[10];
    void *out;

    memset(f, 0, sizeof f);
    cr_assert_eq(ct_executor_init(&ex, &o), CT_OK);
    cr_assert_eq(atomic_load(&l.inits), 0, "workers start on demand");
    for (int i = 0; i < 10; i++)
        cr_assert_eq(ct_executor_submit(&ex, &f[i], whoami, NULL), CT_OK);
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(ct_future_result(&f[i], &out, CT_SEC(30)), CT_OK);
        cr_assert_eq((uint64_t)(uintptr_t)out, l.init_ident[0], "task on the initialised thread");
    }
    cr_assert_neq(l.init_ident[0], ct_thread_ident());
    cr_assert_eq(atomic_load(&l.finis), 0, "no idle timeout: the worker stays");
    cr_assert_eq(ct_executor_shutdown(&ex, true, false), CT_OK);
    cr_assert_eq(atomic_load(&l.inits), 1);
    cr_assert_eq(atomic_load(&l.finis), 1, "finalizer ran before shutdown(wait) returned");
    cr_assert_eq(l.fini_ident[0], l.init_ident[0], "finalizer on the same thread");
    cr_assert_eq(ct_executor_destroy(&ex), CT_OK);
}

Test(executor, idle_worker_retires_and_the_next_submit_starts_a_new_one, .timeout = 60)
{
    ct_executor_t ex;
    struct life l = { 0 };
    ct_executor_options_t o = { .max_workers = 1, .idle_timeout_ns = CT_MS(20),
                                .initializer = life_init, .finalizer = life_fini, .init_arg = &l };
    ct_future_t a = CT_FUTURE_INIT, b = CT_FUTURE_INIT;
    void *out;

    cr_assert_eq(ct_executor_init(&ex, &o), CT_OK);
    cr_assert_eq(ct_executor_submit(&ex, &a, whoami, NULL), CT_OK);
    cr_assert_eq(ct_future_result(&a, &out, CT_SEC(30)), CT_OK);
    cr_assert_eq(t_await_count(&l.finis, 1), 1, "the idle worker retired");
    cr_assert_eq(l.fini_ident[0], (uint64_t)(uintptr_t)out, "finalizer on the worker thread");
    cr_assert_eq(atomic_load(&l.alive), 0);
    cr_assert_eq(ct_executor_submit(&ex, &b, whoami, NULL), CT_OK);
    cr_assert_eq(ct_future_result(&b, &out, CT_SEC(30)), CT_OK);
    cr_assert_eq(atomic_load(&l.inits), 2, "a new worker, initialised again");
    cr_assert_eq((uint64_t)(uintptr_t)out, l.init_ident[1]);
    cr_assert_neq(l.init_ident[1], l.init_ident[0], "a new thread");
    cr_assert_eq(ct_executor_shutdown(&ex, true, false), CT_OK);
    cr_assert_eq(atomic_load(&l.finis), 2);
    cr_assert_eq(atomic_load(&l.overlap), 0, "never two resources alive");
    cr_assert_eq(ct_executor_destroy(&ex), CT_OK);
}

Test(executor, idle_retirement_racing_submits_loses_nothing, .timeout = 120)
{
    ct_executor_t ex;
    struct life l = { 0 };
    ct_executor_options_t o = { .max_workers = 1, .idle_timeout_ns = CT_US(300),
                                .initializer = life_init, .finalizer = life_fini, .init_arg = &l };
    uint64_t rng = 12345;

    cr_assert_eq(ct_executor_init(&ex, &o), CT_OK);
    for (int i = 0; i < 400 / STRESS_SCALE * 2; i++) {
        ct_future_t f = CT_FUTURE_INIT;
        void *out;
        cr_assert_eq(ct_executor_submit(&ex, &f, twice, (void *)(uintptr_t)i), CT_OK);
        cr_assert_eq(ct_future_result(&f, &out, CT_SEC(30)), CT_OK, "task %d lost", i);
        cr_assert_eq((uintptr_t)out, 2u * (unsigned)i);
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        int64_t pause = (int64_t)(rng % 600000);          /* around the idle timeout */
        int64_t until = t_now() + pause;
        while (t_now() < until)
            ;
    }
    /* Where timed waits are coarse (Wine rounds them to milliseconds) the pauses above may
     * never outlast the idle timeout; the worker must still retire once left idle, and the
     * next submit must start a fresh one. */
    int before = atomic_load(&l.inits);
    cr_assert_geq(t_await_count(&l.finis, before), before, "the idle worker retired");
    ct_future_t last = CT_FUTURE_INIT;
    void *out;
    cr_assert_eq(ct_executor_submit(&ex, &last, twice, (void *)(uintptr_t)21), CT_OK);
    cr_assert_eq(ct_future_result(&last, &out, CT_SEC(30)), CT_OK, "the task after retiring");
    cr_assert_eq((uintptr_t)out, 42u);
    cr_assert_eq(ct_executor_shutdown(&ex, true, false), CT_OK);
    cr_assert_eq(atomic_load(&l.overlap), 0, "two resources alive at once");
    cr_assert_eq(atomic_load(&l.inits), atomic_load(&l.finis), "a finalizer per initializer");
    cr_assert_gt(atomic_load(&l.inits), before, "a new worker after retiring");
    cr_assert_eq(ct_executor_destroy(&ex), CT_OK);
}

/* Copies the worker's name into the char[64] at p. */
static void *my_name(void *p)
{
    ct_thread_t me;
    if (ct_thread_current(&me) != CT_OK)
        return NULL;
    snprintf(p, 64, "%s", ct_thread_name(&me));
    return p;
}

Test(executor, workers_are_named_like_cpythons, .timeout = 60)
{
    ct_executor_t a, b;
    ct_executor_options_t named = { .max_workers = 2, .thread_name_prefix = "render" };
    ct_executor_options_t plain = { .max_workers = 1 };
    ct_future_t f = CT_FUTURE_INIT;
    char name[64], other[64];
    void *out;
    unsigned n1, n2, slot;

    cr_assert_eq(ct_executor_init(&a, &named), CT_OK);
    cr_assert_eq(ct_executor_submit(&a, &f, my_name, name), CT_OK);
    cr_assert_eq(ct_future_result(&f, &out, CT_SEC(30)), CT_OK);
    cr_assert_str_eq(name, "render_0", "the first worker of a named executor");
    cr_assert_eq(ct_executor_shutdown(&a, true, false), CT_OK);
    cr_assert_eq(ct_executor_destroy(&a), CT_OK);

    /* Without a prefix: ThreadPoolExecutor-<n>_<slot>, n one more per executor. */
    cr_assert_eq(ct_executor_init(&a, &plain), CT_OK);
    cr_assert_eq(ct_executor_init(&b, &plain), CT_OK);
    cr_assert_eq(ct_executor_submit(&a, &f, my_name, name), CT_OK);
    cr_assert_eq(ct_future_result(&f, &out, CT_SEC(30)), CT_OK);
    cr_assert_eq(ct_executor_submit(&b, &f, my_name, other), CT_OK);
    cr_assert_eq(ct_future_result(&f, &out, CT_SEC(30)), CT_OK);
    cr_assert_eq(sscanf(name, "ThreadPoolExecutor-%u_%u", &n1, &slot), 2, "got '%s'", name);
    cr_assert_eq(slot, 0u);
    cr_assert_eq(sscanf(other, "ThreadPoolExecutor-%u_%u", &n2, &slot), 2, "got '%s'", other);
    cr_assert_eq(n2, n1 + 1, "'%s' after '%s'", other, name);
    cr_assert_eq(ct_executor_shutdown(&a, true, false), CT_OK);
    cr_assert_eq(ct_executor_shutdown(&b, true, false), CT_OK);
    cr_assert_eq(ct_executor_destroy(&a), CT_OK);
    cr_assert_eq(ct_executor_destroy(&b), CT_OK);
}

/* ---- done callbacks ------------------------------------------------------------------------- */

struct cb_log {
    atomic_int n;
    int order[8];
    uint64_t ident[8];
    bool done_inside[8];
    void *result_inside[8];
    int result_rc[8];
};

struct cb_arg { struct cb_log *log; int id; };

static void log_cb(ct_future_t *f, void *p)
{
    struct cb_arg *a = p;
    int i = atomic_fetch_add(&a->log->n, 1);
    a->log->order[i] = a->id;
    a->log->ident[i] = ct_thread_ident();
    a->log->done_inside[i] = ct_future_done(f);
    a->log->result_rc[i] = ct_future_result(f, &a->log->result_inside[i], 0);
}

Test(executor, done_callbacks_run_on_the_completing_thread_or_at_once, .timeout = 60)
{
    ct_executor_t ex;
    ct_executor_options_t o = { .max_workers = 1 };
    struct gate g = { 0 };
    ct_future_t f = CT_FUTURE_INIT;
    struct cb_log log = { 0 };
    struct cb_arg args[6];

    for (int i = 0; i < 6; i++)
        args[i] = (struct cb_arg){ &log, i };
    cr_assert_eq(ct_executor_init(&ex, &o), CT_OK);
    cr_assert_eq(ct_executor_submit(&ex, &f, gated, &g), CT_OK);
    cr_assert_eq(ct_future_add_done_callback(&f, NULL, NULL), CT_EINVAL);
    for (int i = 0; i < CT_FUTURE_MAX_CALLBACKS; i++)
        cr_assert_eq(ct_future_add_done_callback(&f, log_cb, &args[i]), CT_OK);
    cr_assert_eq(ct_future_add_done_callback(&f, log_cb, &args[5]), CT_EOVERFLOW);
    cr_assert_eq(atomic_load(&log.n), 0);
    ct_event_set(&g.open);
    cr_assert_eq(ct_future_wait(&f, CT_SEC(30)), CT_OK);
    cr_assert_eq(atomic_load(&log.n), CT_FUTURE_MAX_CALLBACKS, "all ran before done");
    for (int i = 0; i < CT_FUTURE_MAX_CALLBACKS; i++) {
        cr_assert_eq(log.order[i], i, "in the order added");
        cr_assert_eq(log.ident[i], g.ident, "on the worker");
        cr_assert(log.done_inside[i], "done inside its own callback");
        cr_assert_eq(log.result_rc[i], CT_OK);
        cr_assert_eq(log.result_inside[i], (void *)&g);
    }
    cr_assert_eq(ct_future_add_done_callback(&f, log_cb, &args[4]), CT_OK, "already done");
    cr_assert_eq(atomic_load(&log.n), 5, "ran at once");
    cr_assert_eq(log.ident[4], ct_thread_ident(), "on the caller");
    cr_assert_eq(ct_executor_shutdown(&ex, true, false), CT_OK);
    cr_assert_eq(ct_executor_destroy(&ex), CT_OK);
}

struct self_destroy { ct_executor_t *ex; int shut_rc, destroy_rc; };

static void destroy_in_callback(ct_future_t *f, void *p)
{
    struct self_destroy *d = p;
    (void)f;
    d->shut_rc = ct_executor_shutdown(d->ex, true, false);
    d->destroy_rc = ct_executor_destroy(d->ex);
}

Test(executor, destroy_from_its_own_worker_is_edeadlk_and_changes_nothing, .timeout = 60)
{
    ct_executor_t ex;
    ct_executor_options_t o = { .max_workers = 1 };
    struct gate g = { 0 };
    ct_future_t f = CT_FUTURE_INIT;
    struct self_destroy d = { &ex, 99, 99 };

    cr_assert_eq(ct_executor_init(&ex, &o), CT_OK);
    cr_assert_eq(ct_executor_submit(&ex, &f, gated, &g), CT_OK);
    cr_assert_eq(ct_future_add_done_callback(&f, destroy_in_callback, &d), CT_OK);
    ct_event_set(&g.open);
    cr_assert_eq(ct_future_wait(&f, CT_SEC(30)), CT_OK);
    cr_assert_eq(d.shut_rc, CT_OK);
    cr_assert_eq(d.destroy_rc, CT_EDEADLK, "destroy on its own worker: %d", d.destroy_rc);
    /* Nothing changed: the executor is still there, shut down. */
    cr_assert_eq(ct_executor_submit(&ex, &f, twice, NULL), CT_ESHUTDOWN);
    cr_assert_eq(ct_executor_shutdown(&ex, true, false), CT_OK);
    cr_assert_eq(ct_executor_destroy(&ex), CT_OK);
}

/* ---- tasks using the executor ------------------------------------------------------------------ */

struct nested { ct_executor_t *ex; ct_future_t inner; int rc; };

static void *submit_inner(void *p)
{
    struct nested *n = p;
    void *out = NULL;
    n->rc = ct_executor_submit(n->ex, &n->inner, twice, (void *)50);
    if (n->rc == CT_OK)
        n->rc = ct_future_result(&n->inner, &out, CT_SEC(30));
    return out;
}

static void *shutdown_from_task(void *p)
{
    return (void *)(intptr_t)ct_executor_shutdown(p, true, false);
}

Test(executor, tasks_may_submit_and_shut_down, .timeout = 60)
{
    ct_executor_t ex;
    ct_executor_options_t o = { .max_workers = 2 };
    struct nested n = { &ex, CT_FUTURE_INIT, 99 };
    ct_future_t f = CT_FUTURE_INIT, s = CT_FUTURE_INIT;
    void *out;

    cr_assert_eq(ct_executor_init(&ex, &o), CT_OK);
    cr_assert_eq(ct_executor_submit(&ex, &f, submit_inner, &n), CT_OK);
    cr_assert_eq(ct_future_result(&f, &out, CT_SEC(30)), CT_OK);
    cr_assert_eq(n.rc, CT_OK);
    cr_assert_eq((uintptr_t)out, 100u);
    cr_assert_eq(ct_executor_submit(&ex, &s, shutdown_from_task, &ex), CT_OK);
    cr_assert_eq(ct_future_result(&s, &out, CT_SEC(30)), CT_OK, "no self-join deadlock");
    cr_assert_eq((intptr_t)out, CT_OK);
    cr_assert_eq(ct_executor_destroy(&ex), CT_OK);
}

/* ---- under load ------------------------------------------------------------------------------- */

#define SUBMITTERS 4
#define PER_SUBMITTER 1500

struct load {
    ct_executor_t ex;
    ct_future_t f[SUBMITTERS][PER_SUBMITTER];
    atomic_int ran[SUBMITTERS][PER_SUBMITTER];
    atomic_int cb[SUBMITTERS][PER_SUBMITTER];
    bool cancelled[SUBMITTERS][PER_SUBMITTER];
    atomic_int next;
};

static void *mark_ran(void *p)
{
    atomic_fetch_add((atomic_int *)p, 1);
    return p;
}

static void mark_cb(ct_future_t *f, void *p)
{
    (void)f;
    atomic_fetch_add((atomic_int *)p, 1);
}

static void submitter(void *p)
{
    struct load *l = p;
    int id = atomic_fetch_add(&l->next, 1);
    uint64_t rng = 0x9e3779b97f4a7c15u * (uint64_t)(id + 1);
    for (int i = 0; i < PER_SUBMITTER; i++) {
        ct_future_t *f = &l->f[id][i];
        if (ct_executor_submit(&l->ex, f, mark_ran, &l->ran[id][i]) != CT_OK)
            abort();
        (void)ct_future_add_done_callback(f, mark_cb, &l->cb[id][i]);
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        if (rng % 4 == 0)
            l->cancelled[id][i] = ct_future_cancel(f);
        if (rng % 16 == 1 && i > 0)
            (void)ct_future_cancel(&l->f[id][i - 1]);   /* usually too late */
    }
}

Test(executor, every_future_ends_exactly_once_under_load, .timeout = 300)
{
    struct load *l = calloc(1, sizeof *l);
    ct_executor_options_t o = { .max_workers = 3, .idle_timeout_ns = CT_US(200) };
    ct_thread_t t[SUBMITTERS];
    int n = PER_SUBMITTER / STRESS_SCALE;
    (void)n;

    cr_assert_eq(ct_executor_init(&l->ex, &o), CT_OK);
    for (int i = 0; i < SUBMITTERS; i++)
        cr_assert_eq(ct_thread_start(&t[i], submitter, l), CT_OK);
    for (int i = 0; i < SUBMITTERS; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_SEC(120)), CT_OK);
    for (int s = 0; s < SUBMITTERS; s++) {
        for (int i = 0; i < PER_SUBMITTER; i++) {
            ct_future_t *f = &l->f[s][i];
            cr_assert_eq(ct_future_wait(f, CT_SEC(60)), CT_OK);
            bool c = ct_future_cancelled(f);
            cr_assert_eq(atomic_load(&l->ran[s][i]), c ? 0 : 1, "future %d/%d ran %d times", s,
                         i, atomic_load(&l->ran[s][i]));
            if (l->cancelled[s][i])
                cr_assert(c, "cancel returned true but the future is not cancelled");
            cr_assert_eq(atomic_load(&l->cb[s][i]), 1, "callback %d/%d ran %d times", s, i,
                         atomic_load(&l->cb[s][i]));
        }
    }
    cr_assert_eq(ct_executor_shutdown(&l->ex, true, false), CT_OK);
    cr_assert_eq(ct_executor_destroy(&l->ex), CT_OK);
    free(l);
}
