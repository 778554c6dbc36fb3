/* Torture: Executor and Future.
 *
 * One executor per round — 3 workers, or 1 in alternate rounds — with a
 * short idle timeout (workers retire and restart all the time) and an
 * initializer/finalizer pair that counts live "resources".  Each torture
 * worker owns a few futures and, at random, submits a task into a done one,
 * cancels one, waits for one (timeout 0, short or CT_FOREVER), reads a
 * result, or adds a done callback.  Every round ends with a shutdown while
 * the workers are still stepping (with or without cancel_futures), then a
 * shutdown(wait) and a destroy at rest.
 *
 * Invariants:
 *   - every submission ends exactly once: its task ran once and it is not
 *     cancelled, or it is cancelled and its task never ran; a cancel that
 *     returned true means cancelled;
 *   - every done callback added runs exactly once, by the time done is seen;
 *   - result() returns the task's value; CT_ECANCELLED iff cancelled;
 *   - one finalizer per initializer, on the same thread; with max_workers =
 *     1 never two resources alive at once;
 *   - CT_ESHUTDOWN only after the shutdown began; timed waits not early;
 *   - no lost wake-up: waits return once the shutdown drained or cancelled
 *     the work; destroy at rest succeeds.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "torture.h"

#define SLOTS 6
#define MAX_WORKERS 256

enum { C_SUBMITS, C_RAN, C_CANCELLED, C_CANCEL_TRUE, C_WAITS, C_TIMEOUTS, C_CALLBACKS,
       C_SHUTDOWN_RCS, C_ROUNDS };
static const char *const names[] = { "submits", "ran", "cancelled", "cancel_true", "waits",
                                     "timeouts", "callbacks", "shutdown_rcs", "rounds", NULL };

struct slot {
    ct_future_t f;
    atomic_int ran, callbacks;       /* written by tasks and callbacks */
    int added;                       /* callbacks added to this submission */
    bool submitted, cancel_true;
    uintptr_t value;
};

struct state {
    ct_executor_t ex;
    atomic_int shut;
    bool one_worker, cancel_at_stop;
    uint64_t rounds;
    atomic_int inits, finis, alive, overlap, wrong_thread;
    int nthreads;
    struct slot (*slots)[SLOTS];     /* [worker][slot], each row owned by one worker */
};

/* The "resource" of a worker thread: set by the initializer, checked and
 * cleared by the finalizer on the same thread. */
static _Thread_local bool have_resource;

static void on_init(void *p)
{
    struct state *s = p;
    if (have_resource)
        atomic_fetch_add(&s->wrong_thread, 1);
    have_resource = true;
    atomic_fetch_add(&s->inits, 1);
    if (atomic_fetch_add(&s->alive, 1) != 0 && s->one_worker)
        atomic_fetch_add(&s->overlap, 1);
}

static void on_fini(void *p)
{
    struct state *s = p;
    if (!have_resource)
        atomic_fetch_add(&s->wrong_thread, 1);
    have_resource = false;
    atomic_fetch_sub(&s->alive, 1);
    atomic_fetch_add(&s->finis, 1);
}

static void start_round(struct state *s)
{
    ct_executor_options_t o = {
        .max_workers = s->one_worker ? 1 : 3, .idle_timeout_ns = CT_US(200),
        .initializer = on_init, .finalizer = on_fini, .init_arg = s,
    };
    if (ct_executor_init(&s->ex, &o) != CT_OK)
        abort();
    atomic_store(&s->shut, 0);
}

static void *setup(int nthreads)
{
    struct state *s = calloc(1, sizeof *s);
    if (s == NULL || nthreads > MAX_WORKERS)
        abort();
    s->nthreads = nthreads;
    s->slots = calloc((size_t)nthreads, sizeof *s->slots);
    if (s->slots == NULL)
        abort();
    start_round(s);
    return s;
}

static void teardown(void *p)
{
    struct state *s = p;
    (void)ct_executor_shutdown(&s->ex, true, true);
    (void)ct_executor_destroy(&s->ex);
    free(s->slots);
    free(s);
}

static void *task(void *p)
{
    struct slot *sl = p;
    atomic_fetch_add(&sl->ran, 1);
    for (int i = (int)(sl->value % 64); i > 0; i--)
        __asm__ __volatile__("" ::: "memory");
    return (void *)sl->value;
}

static void on_done(ct_future_t *f, void *p)
{
    struct slot *sl = p;
    (void)f;
    atomic_fetch_add(&sl->callbacks, 1);
}

/* Checks a finished submission and forgets it; the slot must be done. */
static void settle(struct torture_worker *w, struct slot *sl)
{
    bool c = ct_future_cancelled(&sl->f);
    int ran = atomic_load(&sl->ran), cbs = atomic_load(&sl->callbacks);
    void *out = NULL;
    int rc = ct_future_result(&sl->f, &out, 0);

    if (ran != (c ? 0 : 1))
        torture_fail(w, "a %s future's task ran %d times", c ? "cancelled" : "finished", ran);
    if (sl->cancel_true && !c)
        torture_fail(w, "cancel returned true but the future finished");
    if (cbs != sl->added)
        torture_fail(w, "%d done callbacks added, %d ran", sl->added, cbs);
    if (rc != (c ? CT_ECANCELLED : CT_OK) || (!c && (uintptr_t)out != sl->value))
        torture_fail(w, "result returned %s", ct_strerror(rc));
    w->counts[c ? C_CANCELLED : C_RAN]++;
    sl->submitted = false;
}

static void step(void *p, struct torture_worker *w)
{
    struct state *s = p;
    struct slot *sl = &s->slots[w->id][torture_below(w, SLOTS)];
    uint32_t r = torture_below(w, 100);

    torture_delay(w);
    if (sl->submitted && ct_future_done(&sl->f))
        settle(w, sl);
    if (r < 40) {
        if (sl->submitted)
            return;
        atomic_store(&sl->ran, 0);
        atomic_store(&sl->callbacks, 0);
        sl->added = 0;
        sl->cancel_true = false;
        sl->value = torture_rand(w) | 1;
        torture_begin(w, "executor_submit");
        int rc = ct_executor_submit(&s->ex, &sl->f, task, sl);
        torture_end(w);
        if (rc == CT_OK) {
            sl->submitted = true;
            w->counts[C_SUBMITS]++;
        } else if (rc == CT_ESHUTDOWN) {
            w->counts[C_SHUTDOWN_RCS]++;
            if (!atomic_load(&s->shut))
                torture_fail(w, "submit returned CT_ESHUTDOWN before the shutdown");
        } else {
            torture_fail(w, "submit returned %s", ct_strerror(rc));
        }
    } else if (!sl->submitted) {
        return;
    } else if (r < 55) {
        if (ct_future_cancel(&sl->f)) {
            sl->cancel_true = true;
            w->counts[C_CANCEL_TRUE]++;
            if (!ct_future_done(&sl->f) || !ct_future_cancelled(&sl->f))
                torture_fail(w, "cancel returned true: not done and cancelled");
        }
    } else if (r < 70) {
        if (sl->added < CT_FUTURE_MAX_CALLBACKS) {
            int rc = ct_future_add_done_callback(&sl->f, on_done, sl);
            if (rc != CT_OK)
                torture_fail(w, "add_done_callback returned %s", ct_strerror(rc));
            sl->added++;
            w->counts[C_CALLBACKS]++;
        }
    } else {
        uint32_t k = torture_below(w, 4);
        int64_t timeout = k == 0 ? 0 : k == 1 ? CT_FOREVER : 1 + torture_below(w, CT_MS(2));
        torture_begin(w, timeout == CT_FOREVER ? "future_wait(forever)" : "future_wait(timed)");
        int64_t t0 = torture_now();
        int rc = ct_future_wait(&sl->f, timeout);
        int64_t took = torture_now() - t0;
        torture_end(w);
        w->counts[C_WAITS]++;
        if (rc == CT_OK) {
            settle(w, sl);
        } else if (rc == CT_ETIMEDOUT && timeout != CT_FOREVER) {
            w->counts[C_TIMEOUTS]++;
            torture_check_not_early(w, "future_wait", timeout, took);
        } else {
            torture_fail(w, "future_wait(%lld) returned %s", (long long)timeout, ct_strerror(rc));
        }
    }
}

/* Round end, workers still stepping: shut the executor down. */
static void stop(void *p)
{
    struct state *s = p;
    atomic_store(&s->shut, 1);
    if (ct_executor_shutdown(&s->ex, false, s->cancel_at_stop) != CT_OK)
        abort();
}

static void quiesce(void *p, struct torture_worker *ws, int nthreads)
{
    struct state *s = p;
    struct torture_worker *w = &ws[0];
    int rc;

    if ((rc = ct_executor_shutdown(&s->ex, true, false)) != CT_OK)
        torture_fail(w, "shutdown(wait) returned %s", ct_strerror(rc));
    for (int t = 0; t < nthreads; t++) {
        for (int k = 0; k < SLOTS; k++) {
            struct slot *sl = &s->slots[t][k];
            if (!sl->submitted)
                continue;
            if (!ct_future_done(&sl->f))
                torture_fail(w, "a future is not done after shutdown(wait)");
            else
                settle(&ws[t], sl);
        }
    }
    if (atomic_load(&s->inits) != atomic_load(&s->finis))
        torture_fail(w, "%d initializers, %d finalizers", atomic_load(&s->inits),
                     atomic_load(&s->finis));
    if (atomic_load(&s->overlap) != 0)
        torture_fail(w, "two resources alive at once with max_workers = 1");
    if (atomic_load(&s->wrong_thread) != 0)
        torture_fail(w, "initializer/finalizer not paired on one thread");
    if ((rc = ct_executor_destroy(&s->ex)) != CT_OK)
        torture_fail(w, "destroy at rest returned %s", ct_strerror(rc));
    w->counts[C_ROUNDS]++;
    s->rounds++;
    s->one_worker = s->rounds % 2 == 1;
    s->cancel_at_stop = s->rounds / 2 % 2 == 1;
    start_round(s);
}

const struct torture_prim torture_executor = {
    .name = "executor",
    .invariants = "every future ends once (ran xor cancelled), callbacks once, init/fini paired "
                  "on one thread, one resource with 1 worker, shutdown mid-round, destroy at rest",
    .count_names = names,
    .setup = setup,
    .step = step,
    .quiesce = quiesce,
    .stop = stop,
    .teardown = teardown,
    .no_signals_under_tsan = true,     /* workers start and exit all the time */
};
