/* Torture: fork() while every primitive and service is in use (issue 13).
 *
 * Worker 0 forks at every step; worker 1 (with 3+ workers) starts a timer
 * whose callback forks, so that the forking thread is a timer worker inside
 * a callback; every other worker runs a random operation on the shared
 * objects: timers started, cancelled, restarted and fired; keys created,
 * set, visited and destroyed while threads exit with values; the shared GILs
 * handed around (ensure, poll, yield, acquire/release); Lock, RLock,
 * Condition, Semaphore and Event operations; short-lived threads.
 *
 * Each child runs the same check and _exits with a bit mask of what failed:
 *   - the timer service: a timer started in the child fires, a parent's
 *     pending timer reads cancelled and can be restarted there;
 *   - Local: a new key works (ctor, set, get, foreach, destroy) and the
 *     shared key's values of other threads are gone;
 *   - the GIL: every shared GIL can be taken (ensure/release, acquire/
 *     release, or it is already the child's when a vanished thread held it);
 *   - fresh Lock, RLock, Semaphore, Event, Condition (timed wait) and
 *     Barrier objects work, and a thread can be started and joined;
 *   - a timer callback's child also checks that its own timer is alive (it
 *     runs the callback) and that joining it is CT_EDEADLK.
 * The parent reaps every child with a bound (a child still running after
 * it is killed and counted as hung).  Invariant: every child exits 0 —
 * crashes, hangs and failed checks are failures.
 *
 * Under ThreadSanitizer the children start no thread: TSan (clang 14) does
 * not support threads in the child of a multi-threaded fork (with
 * die_after_fork=0 its runtime hangs in some children), so there the timer
 * check is limited to the parent's timers (cancelled, joinable) and the
 * thread check is skipped; the other builds run the whole check.  TSan
 * fork()s are also slow (the shadow memory is copied): the ctest case asks
 * fewer of them there.  And the TSan runtime's malloc is not fork-safe
 * (a child can inherit an allocator lock held by a vanished thread and hang
 * in its first malloc), so under TSan a fork waits until the other workers
 * are between steps (FORK_GATE); the concurrent version runs in the other
 * builds (ASan with the allocator workaround of test/sanitizer_fork.h).
 * CT_TORTURE_FORK_MIN (environment): fail unless at least that many
 * children were forked in the run (the ctest case asks for 500).
 *
 * SPDX-License-Identifier: MIT
 */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE                /* kill() under -std=c11 */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "torture.h"
#include "../sanitizer_fork.h" /* clang 14 ASan/TSan: allocator locks around fork */

#if !defined(_WIN32)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../fork_reap.h"   /* ct_test_reap */
#include "../helpers.h"     /* t_pause */

#include "internal/platform.h"   /* CT__TSAN */
#if defined(CT__TSAN)
#define CHILD_THREADS 0            /* see the header comment */
#define FORK_GATE 1
#else
#define CHILD_THREADS 1
#define FORK_GATE 0
#endif

/* Under TSan only: a fork waits until no worker is inside a step of its own
 * (the TSan runtime's user allocator is not fork-safe, see
 * test/sanitizer_fork.h), and steps wait while a fork is in progress.
 * Dekker-style with seq_cst atomics.  Timer pool threads are not gated. */
static atomic_int gate_busy, gate_forking;

static void gate_enter(void)
{
    if (!FORK_GATE)
        return;
    for (;;) {
        while (atomic_load(&gate_forking))
            t_pause(CT_US(50));
        atomic_fetch_add(&gate_busy, 1);
        if (!atomic_load(&gate_forking))
            return;
        atomic_fetch_sub(&gate_busy, 1);
    }
}

static void gate_leave(void)
{
    if (FORK_GATE)
        atomic_fetch_sub(&gate_busy, 1);
}

/* Around a fork (forkers never hold the gate as steppers). */
static void gate_close(void)
{
    int zero = 0;
    if (!FORK_GATE)
        return;
    while (!atomic_compare_exchange_weak(&gate_forking, &zero, 1)) {
        zero = 0;
        t_pause(CT_US(50));
    }
    while (atomic_load(&gate_busy) != 0)
        t_pause(CT_US(20));
}

static void gate_open(void)
{
    if (FORK_GATE)
        atomic_store(&gate_forking, 0);
}

#define NGIL 2
#define NTIMERS 8      /* per worker */

enum { C_FORKS, C_CALLBACK_FORKS, C_TIMER_OPS, C_LOCAL_OPS, C_GIL_OPS, C_PRIM_OPS,
       C_THREADS };
static const char *const names[] = { "forks", "callback_forks", "timer_ops", "local_ops",
                                     "gil_ops", "prim_ops", "threads", NULL };

struct wstate {
    ct_timer_t timers[NTIMERS];
    atomic_int runs;
    char pad[64];
};

struct state {
    ct_gil_t gil[NGIL];
    ct_local_t key;                /* shared key: every worker keeps a value */
    ct_lock_t lock;
    ct_rlock_t rlock;
    ct_cond_t cond;
    ct_sem_t sem;
    ct_event_t event;
    int nthreads;
    struct wstate *ws;
    /* the forking timer (worker 1) */
    ct_timer_t fork_timer;
    _Atomic int fork_pid;          /* child of the callback, 0 none, -1 fork failed */
    atomic_long children_bad;
    uint64_t forks_seen;           /* by quiesce */
};

static struct state *the_state;    /* for the children and callbacks */

/* ---- the child's check ------------------------------------------------------------ */

static void bump(void *p) { atomic_fetch_add((atomic_int *)p, 1); }
static void *make_value(void *arg) { (void)arg; return malloc(16); }
static void count_value(void *v, void *arg) { (void)v; (*(int *)arg)++; }
static void nothing(void *p) { (void)p; }

static int child_timer(void)
{
    ct_timer_t t = CT_TIMER_INIT;
    atomic_int runs = 0;
    if (!CHILD_THREADS)
        return 0;
    if (ct_timer_start(&t, CT_US(100), bump, &runs) != CT_OK)
        return 1;
    if (ct_timer_join(&t, CT_SEC(3)) != CT_OK || atomic_load(&runs) != 1)
        return 1;
    return 0;
}

static int child_local(struct state *s)
{
    ct_local_t k;
    int n = 0, bad = 0;
    void *v;
    if (ct_local_init(&k, make_value, free, NULL) != CT_OK)
        return 1;
    v = ct_local_get(&k);
    if (v == NULL || ct_local_get(&k) != v)
        bad = 1;
    ct_local_foreach(&k, count_value, &n);
    if (n != 1)
        bad = 1;
    ct_local_destroy(&k);
    n = 0;
    ct_local_foreach(&s->key, count_value, &n);
    if (n > 1)
        bad = 1;                   /* other threads' values must be gone */
    return bad;
}

static int child_gil(struct state *s)
{
    int bad = 0;
    for (int i = 0; i < NGIL; i++) {
        ct_gil_state_t st = ct_gil_ensure(&s->gil[i]);
        if (!ct_gil_held(&s->gil[i]) || ct_gil_release_state(&s->gil[i], st) != CT_OK)
            bad = 1;
        if (!ct_gil_held(&s->gil[i])) {
            if (ct_gil_acquire(&s->gil[i]) != CT_OK || ct_gil_release(&s->gil[i]) != CT_OK)
                bad = 1;
        }
    }
    return bad;
}

/* Names a failed check on the child's stderr (the parent only sees the mask). */
static int child_says(const char *what)
{
    fprintf(stderr, "torture fork child: the %s check did not hold\n", what);
    return 1;
}

static int child_prims(void)
{
    ct_lock_t l = CT_LOCK_INIT;
    ct_rlock_t r = CT_RLOCK_INIT;
    ct_sem_t sem = CT_SEM_INIT;
    ct_event_t e = CT_EVENT_INIT;
    ct_cond_t c = CT_COND_INIT;
    ct_barrier_t b;
    int bad = 0;

    ct_lock_acquire(&l);
    if (ct_lock_try_acquire(&l) || ct_lock_release(&l) != CT_OK)
        bad = child_says("lock");
    if (ct_rlock_acquire(&r) != CT_OK || ct_rlock_acquire(&r) != CT_OK ||
        ct_rlock_release(&r) != CT_OK || ct_rlock_release(&r) != CT_OK)
        bad = child_says("rlock");
    if (ct_sem_release(&sem, 1) != CT_OK || !ct_sem_try_acquire(&sem))
        bad = child_says("semaphore");
    ct_event_set(&e);
    if (ct_event_wait_timed(&e, CT_SEC(1)) != CT_OK)
        bad = child_says("event");
    if (ct_cond_acquire(&c) != CT_OK || ct_cond_wait_timed(&c, CT_US(200)) != CT_ETIMEDOUT ||
        ct_cond_release(&c) != CT_OK)
        bad = child_says("condition");
    if (ct_barrier_init(&b, 1, NULL, NULL, CT_FOREVER) != CT_OK || ct_barrier_wait(&b) != 0)
        bad = child_says("barrier");
    return bad;
}

static int child_thread(void)
{
    ct_thread_t th;
    int err;
    if (!CHILD_THREADS)
        return 0;
    if ((err = ct_thread_start(&th, nothing, NULL)) != CT_OK) {
        fprintf(stderr, "torture fork child: ct_thread_start: %s\n", ct_strerror(err));
        return 1;
    }
    if ((err = ct_thread_join(&th, CT_SEC(10))) != CT_OK) {
        fprintf(stderr, "torture fork child: ct_thread_join: %s\n", ct_strerror(err));
        return 1;
    }
    return 0;
}

static int child_check(struct state *s)
{
    int code = 0;
    if (child_timer())
        code |= 1;
    if (child_local(s))
        code |= 2;
    if (child_gil(s))
        code |= 4;
    if (child_prims())
        code |= 8;
    if (child_thread())
        code |= 32;
    /* The parent's timers (pending, queued or running there) are dead here:
     * not alive, joinable at once, and cancel never breaks them. */
    for (int i = 0; i < s->nthreads; i++) {
        for (int k = 0; k < NTIMERS; k++) {
            ct_timer_t *t = &s->ws[i].timers[k];
            if (ct_timer_is_alive(t) || ct_timer_join(t, 0) != CT_OK)
                code |= 16;
            (void)ct_timer_cancel(t);
        }
    }
    return code;
}

/* Reaps a child within the bound; kills it if it hangs.  Returns 0 for a
 * clean exit, else a description code (exit status, 1000+signal, 2000). */
static int reap(pid_t pid)
{
    return ct_test_reap(pid, torture_wake_bound() / 2, CT_US(500));
}

static void report_child(struct state *s, struct torture_worker *w, const char *who, int code)
{
    atomic_fetch_add(&s->children_bad, 1);
    torture_fail(w, "%s child %s (code %d: 1 timer, 2 local, 4 gil, 8 prims, 16 parent "
                 "timer, 32 thread, 64+ callback checks)", who,
                 code >= 2000 ? "hung" : code >= 1000 ? "crashed" : "failed", code);
}

/* ---- the forking timer callback ------------------------------------------------------- */

static void forking_callback(void *p)
{
    struct state *s = p;
    pid_t pid;
    gate_close();
    pid = fork();
    if (pid == 0) {
        int code = 0;
        if (!ct_timer_is_alive(&s->fork_timer))
            code |= 64;
        if (ct_timer_join(&s->fork_timer, 0) != CT_EDEADLK)
            code |= 128;
        code |= child_check(s);
        _exit(code);
    }
    gate_open();
    atomic_store(&s->fork_pid, pid > 0 ? pid : -1);
}

/* ---- setup ------------------------------------------------------------------------------ */

static void *setup(int nthreads)
{
    struct state *s = calloc(1, sizeof *s);
    s->nthreads = nthreads;
    s->ws = calloc((size_t)nthreads, sizeof *s->ws);
    for (int i = 0; i < NGIL; i++) {
        if (ct_gil_init(&s->gil[i], i == 0 ? CT_GIL_CLASSIC : CT_GIL_PRIORITY) != CT_OK ||
            ct_gil_set_switch_interval(&s->gil[i], CT_US(200)) != CT_OK) {
            fprintf(stderr, "fork: gil init failed\n");
            exit(2);
        }
    }
    if (ct_local_init(&s->key, make_value, free, NULL) != CT_OK) {
        fprintf(stderr, "fork: local init failed\n");
        exit(2);
    }
    ct_cond_init_rlock(&s->cond, &s->rlock);
    the_state = s;
    return s;
}

static void teardown(void *p)
{
    struct state *s = p;
    for (int i = 0; i < s->nthreads; i++)
        for (int k = 0; k < NTIMERS; k++) {
            (void)ct_timer_cancel(&s->ws[i].timers[k]);
            (void)ct_timer_join(&s->ws[i].timers[k], CT_FOREVER);
        }
    (void)ct_timer_join(&s->fork_timer, CT_FOREVER);
    ct_local_destroy(&s->key);
    for (int i = 0; i < NGIL; i++)
        if (ct_gil_destroy(&s->gil[i]) != CT_OK)
            fprintf(stderr, "FAIL torture fork: a GIL is busy at teardown\n");
    free(s->ws);
    free(s);
}

/* ---- steps ------------------------------------------------------------------------------- */

static void step_fork(struct state *s, struct torture_worker *w)
{
    pid_t pid;
    int code;
    torture_begin(w, "fork");
    gate_close();
    pid = fork();
    if (pid == 0)
        _exit(child_check(s));
    gate_open();
    if (pid < 0) {
        torture_end(w);
        return;                    /* out of processes: try again later */
    }
    w->counts[C_FORKS]++;
    torture_begin(w, "reap");
    if ((code = reap(pid)) != 0)
        report_child(s, w, "forked", code);
    torture_end(w);
}

static void step_callback_fork(struct state *s, struct torture_worker *w)
{
    int pid, code;
    torture_begin(w, "timer callback fork");
    atomic_store(&s->fork_pid, 0);
    if (ct_timer_start(&s->fork_timer, torture_below(w, 200000), forking_callback, s) != CT_OK) {
        torture_fail(w, "cannot start the forking timer");
        return;
    }
    if (ct_timer_join(&s->fork_timer, CT_FOREVER) != CT_OK)
        torture_fail(w, "join of the forking timer failed");
    pid = atomic_load(&s->fork_pid);
    if (pid > 0) {
        w->counts[C_FORKS]++;
        w->counts[C_CALLBACK_FORKS]++;
        torture_begin(w, "reap callback child");
        if ((code = reap(pid)) != 0)
            report_child(s, w, "callback", code);
    }
    torture_end(w);
}

static void exiting_thread(void *p)
{
    struct state *s = p;
    (void)ct_local_get(&s->key);             /* dies with a value */
    ct_gil_state_t st = ct_gil_ensure(&s->gil[1]);
    (void)ct_gil_release_state(&s->gil[1], st);
}

static void step_other(struct state *s, struct torture_worker *w)
{
    struct wstate *ws = &s->ws[w->id];
    uint32_t op = torture_below(w, 10);

    switch (op) {
    case 0: case 1: {                          /* timers */
        ct_timer_t *t = &ws->timers[torture_below(w, NTIMERS)];
        torture_begin(w, "timer");
        if (ct_timer_start(t, torture_below(w, 3) == 0 ? CT_SEC(1) : torture_below(w, 500000),
                           bump, &ws->runs) == CT_OK) {
            if (torture_below(w, 2))
                (void)ct_timer_cancel(t);
            else if (torture_below(w, 2))
                (void)ct_timer_join(t, CT_MS(2));
        }
        w->counts[C_TIMER_OPS]++;
        break;
    }
    case 2: case 3: {                          /* locals */
        ct_local_t k;
        int n = 0;
        torture_begin(w, "local");
        if (ct_local_init(&k, make_value, free, NULL) == CT_OK) {
            (void)ct_local_get(&k);
            ct_local_foreach(&k, count_value, &n);
            ct_local_destroy(&k);
        }
        (void)ct_local_get(&s->key);
        ct_local_foreach(&s->key, count_value, &n);
        w->counts[C_LOCAL_OPS]++;
        break;
    }
    case 4: case 5: {                          /* GIL */
        ct_gil_t *g = &s->gil[torture_below(w, NGIL)];
        torture_begin(w, "gil");
        if (torture_below(w, 2)) {
            ct_gil_state_t st = ct_gil_ensure(g);
            (void)ct_gil_poll(g);
            torture_delay(w);
            (void)ct_gil_release_state(g, st);
        } else {
            if (ct_gil_acquire(g) == CT_OK) {
                (void)ct_gil_yield(g);
                (void)ct_gil_release(g);
            }
        }
        w->counts[C_GIL_OPS]++;
        break;
    }
    case 6: case 7: {                          /* the plain primitives */
        torture_begin(w, "prims");
        ct_lock_acquire(&s->lock);
        torture_delay(w);
        ct_lock_release(&s->lock);
        if (ct_cond_acquire(&s->cond) == CT_OK) {
            (void)ct_cond_notify(&s->cond, 1);
            if (torture_below(w, 4) == 0)
                (void)ct_cond_wait_timed(&s->cond, CT_US(100));
            (void)ct_cond_release(&s->cond);
        }
        (void)ct_sem_release(&s->sem, 1);
        (void)ct_sem_acquire_timed(&s->sem, CT_MS(1));
        if (torture_below(w, 2))
            ct_event_set(&s->event);
        else
            ct_event_clear(&s->event);
        w->counts[C_PRIM_OPS]++;
        break;
    }
    default: {                                 /* threads exiting with values */
        ct_thread_t th;
        torture_begin(w, "thread");
        if (ct_thread_start(&th, exiting_thread, s) == CT_OK) {
            if (ct_thread_join(&th, CT_FOREVER) != CT_OK)
                torture_fail(w, "join failed");
            w->counts[C_THREADS]++;
        }
        break;
    }
    }
    torture_end(w);
}

static void step(void *p, struct torture_worker *w)
{
    struct state *s = p;
    if (w->id == 0)
        step_fork(s, w);
    else if (w->id == 1 && w->nthreads >= 3)
        step_callback_fork(s, w);
    else {
        gate_enter();
        step_other(s, w);
        gate_leave();
    }
}

static void quiesce(void *p, struct torture_worker *workers, int nthreads)
{
    struct state *s = p;
    uint64_t forks = 0;
    for (int i = 0; i < nthreads; i++)
        forks += workers[i].counts[C_FORKS];
    s->forks_seen = forks;
}

/* After the run: enough forks?  (CT_TORTURE_FORK_MIN; no worker to blame
 * here, so it reports and exits like the driver's own failures.) */
static void teardown_checked(void *p)
{
    struct state *s = p;
    const char *min = getenv("CT_TORTURE_FORK_MIN");
    uint64_t forks = s->forks_seen;
    teardown(p);
    if (min != NULL && forks < strtoull(min, NULL, 10)) {
        fprintf(stderr, "FAIL torture fork: only %llu forks, CT_TORTURE_FORK_MIN=%s\n",
                (unsigned long long)forks, min);
        fflush(stderr);
        exit(1);
    }
}

const struct torture_prim torture_fork = {
    .name = "fork",
    .invariants = "every child of a fork (from a worker, and from inside a timer callback) "
                  "finds every service and primitive working; no child crashes or hangs",
    .count_names = names,
    .setup = setup,
    .step = step,
    .quiesce = quiesce,
    .teardown = teardown_checked,
    /* threads are joined all the time (see torture.h) */
    .no_signals_under_tsan = true,
};
#else
/* No fork() on Windows: the case exists and does nothing. */
static const char *const names[] = { "forks", NULL };
static void *setup(int n) { (void)n; return NULL; }
static void step(void *p, struct torture_worker *w) { (void)p; (void)w; }
static void teardown(void *p) { (void)p; }
const struct torture_prim torture_fork = {
    .name = "fork", .invariants = "fork() is POSIX only", .count_names = names,
    .setup = setup, .step = step, .teardown = teardown,
};
#endif
