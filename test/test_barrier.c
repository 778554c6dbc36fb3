/* Barrier: every behaviour of CPython's BarrierTests (lockstep over 1 and 10
 * generations, arrival indexes, action once per generation, abort, reset,
 * abort-then-reset, explicit and default timeouts, a single party), the
 * C-only edges (bad init, failing action, reset/abort from the action), and
 * a stress run of 8 threads over many generations. */
#include <string.h>
#include "ct_test.h"
#include "helpers.h"
#include "internal/platform.h"

#define N 5

/* ---- a bunch of N threads running the same body (CPython's Bunch) ---------- */
struct bunch;
typedef void (*body_fn)(struct bunch *, int index);

struct bunch {
    ct_barrier_t b, b2;
    body_fn body;
    atomic_int next_id;
    atomic_int r1, r2, r3, errors, timedout, broken;
    atomic_int seen[64];
    int passes;
};

static void bunch_thread(void *p)
{
    struct bunch *c = p;
    c->body(c, atomic_fetch_add(&c->next_id, 1));
}

/* Runs body on N-1 new threads and on the test's thread, as CPython's
 * run_threads does; returns when all are done. */
static void run_threads(struct bunch *c, body_fn body)
{
    ct_thread_t t[N - 1];
    c->body = body;
    for (int i = 0; i < N - 1; i++)
        cr_assert_eq(ct_thread_start(&t[i], bunch_thread, c), CT_OK);
    body(c, atomic_fetch_add(&c->next_id, 1));
    for (int i = 0; i < N - 1; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
}

static struct bunch *new_bunch(int64_t default_timeout)
{
    static struct bunch c;
    memset(&c, 0, sizeof c);
    cr_assert_eq(ct_barrier_init(&c.b, N, NULL, NULL, default_timeout), CT_OK);
    cr_assert_eq(ct_barrier_init(&c.b2, N, NULL, NULL, CT_FOREVER), CT_OK);
    return &c;
}

Test(barrier, size_and_init_errors)
{
    ct_barrier_t b, before;
    cr_assert_leq(sizeof(ct_barrier_t), 32u);
    memset(&b, 0xA5, sizeof b);
    memcpy(&before, &b, sizeof b);
    cr_assert_eq(ct_barrier_init(&b, 0, NULL, NULL, CT_FOREVER), CT_EINVAL);
    cr_assert_eq(ct_barrier_init(&b, CT_BARRIER_PARTIES_MAX + 1u, NULL, NULL, CT_FOREVER),
                 CT_EINVAL);
    cr_assert_eq(ct_barrier_init(&b, 3, NULL, NULL, -2), CT_EINVAL);
    cr_assert_eq(ct_barrier_init(&b, 3, NULL, NULL, INT64_MIN), CT_EINVAL);
    cr_assert_eq(ct_barrier_init(&b, 3, NULL, NULL, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
    cr_assert_eq(memcmp(&b, &before, sizeof b), 0, "a failed init must not touch b");
    cr_assert_eq(ct_barrier_init(&b, 3, NULL, NULL, CT_TIMEOUT_MAX), CT_OK);
    cr_assert_eq(ct_barrier_parties(&b), 3u);
    cr_assert_eq(ct_barrier_n_waiting(&b), 0u);
    cr_assert_not(ct_barrier_broken(&b));
    cr_assert_eq(ct_barrier_init(&b, CT_BARRIER_PARTIES_MAX, NULL, NULL, 0), CT_OK);
    cr_assert_eq(ct_barrier_parties(&b), CT_BARRIER_PARTIES_MAX);
}

Test(barrier, bad_wait_timeouts_do_not_arrive)
{
    ct_barrier_t b;
    cr_assert_eq(ct_barrier_init(&b, 2, NULL, NULL, CT_FOREVER), CT_OK);
    cr_assert_eq(ct_barrier_wait_timed(&b, -2), CT_EINVAL);
    cr_assert_eq(ct_barrier_wait_timed(&b, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
    cr_assert_eq(ct_barrier_n_waiting(&b), 0u);
    cr_assert_not(ct_barrier_broken(&b));
}

/* ---- CPython multipass: lockstep ------------------------------------------------ */
static void multipass(struct bunch *c, int id)
{
    (void)id;
    for (int i = 0; i < c->passes; i++) {
        atomic_fetch_add(&c->r1, 1);
        if (atomic_load(&c->r2) != i * N)
            atomic_fetch_add(&c->errors, 1);
        if (ct_barrier_wait(&c->b) < 0)
            atomic_fetch_add(&c->errors, 1);
        atomic_fetch_add(&c->r2, 1);
        if (atomic_load(&c->r1) != (i + 1) * N)
            atomic_fetch_add(&c->errors, 1);
        if (ct_barrier_wait(&c->b) < 0)
            atomic_fetch_add(&c->errors, 1);
    }
}

static void check_lockstep(int passes)
{
    struct bunch *c = new_bunch(CT_SEC(60));
    cr_assert_eq(ct_barrier_parties(&c->b), (unsigned)N);
    c->passes = passes;
    run_threads(c, multipass);
    cr_assert_eq(atomic_load(&c->errors), 0, "not in lockstep");
    cr_assert_eq(atomic_load(&c->r1), passes * N);
    cr_assert_eq(ct_barrier_n_waiting(&c->b), 0u);
    cr_assert_not(ct_barrier_broken(&c->b));
}

Test(barrier, lockstep, .timeout = 60) { check_lockstep(1); }
Test(barrier, lockstep_10_generations, .timeout = 60) { check_lockstep(10); }

/* ---- CPython test_wait_return: indexes are 0..N-1 ------------------------------ */
static void record_index(struct bunch *c, int id)
{
    (void)id;
    for (int g = 0; g < 10; g++) {
        int r = ct_barrier_wait(&c->b);
        if (r < 0 || r >= N)
            atomic_fetch_add(&c->errors, 1);
        else
            atomic_fetch_add(&c->seen[g * N + r < 64 ? g * N + r : 0], 1);
    }
}

Test(barrier, wait_returns_each_index_once_per_generation, .timeout = 60)
{
    struct bunch *c = new_bunch(CT_SEC(60));
    run_threads(c, record_index);
    cr_assert_eq(atomic_load(&c->errors), 0);
    for (int g = 0; g < 10 && g * N + N <= 64; g++)
        for (int i = 0; i < N; i++)
            cr_assert_eq(atomic_load(&c->seen[g * N + i]), 1, "generation %d index %d", g, i);
}

/* ---- CPython test_action: once per generation, before anyone leaves ---------- */
static atomic_int action_runs;

static int count_action(void *arg)
{
    (void)arg;
    atomic_fetch_add(&action_runs, 1);
    return 0;
}

static void check_action(struct bunch *c, int id)
{
    (void)id;
    for (int g = 1; g <= 10; g++) {
        if (ct_barrier_wait(&c->b) < 0)
            atomic_fetch_add(&c->errors, 1);
        if (atomic_load(&action_runs) != g)
            atomic_fetch_add(&c->errors, 1);
        if (ct_barrier_wait(&c->b2) < 0)           /* keep generations apart */
            atomic_fetch_add(&c->errors, 1);
    }
}

Test(barrier, action_runs_once_per_generation_before_release, .timeout = 60)
{
    struct bunch *c = new_bunch(CT_FOREVER);
    atomic_store(&action_runs, 0);
    cr_assert_eq(ct_barrier_init(&c->b, N, count_action, NULL, CT_FOREVER), CT_OK);
    run_threads(c, check_action);
    cr_assert_eq(atomic_load(&c->errors), 0);
    cr_assert_eq(atomic_load(&action_runs), 10);
}

/* ---- a failing action breaks the barrier; its runner gets CT_EBROKEN too ---- */
static int failing_action(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
    return -1;
}

static void wait_once(struct bunch *c, int id)
{
    (void)id;
    int r = ct_barrier_wait(&c->b);
    atomic_fetch_add(r == CT_EBROKEN ? &c->broken : &c->errors, 1);
}

Test(barrier, failing_action_breaks_for_everyone, .timeout = 60)
{
    struct bunch *c = new_bunch(CT_FOREVER);
    atomic_int runs = 0;
    cr_assert_eq(ct_barrier_init(&c->b, N, failing_action, &runs, CT_FOREVER), CT_OK);
    run_threads(c, wait_once);
    cr_assert_eq(atomic_load(&runs), 1);
    cr_assert_eq(atomic_load(&c->broken), N);
    cr_assert(ct_barrier_broken(&c->b));
    cr_assert_eq(ct_barrier_wait(&c->b), CT_EBROKEN, "stays broken");
    ct_barrier_reset(&c->b);
    cr_assert_not(ct_barrier_broken(&c->b));
}

/* ---- abort or reset from inside the action: never blocks -------------------- */
static int aborting_action(void *arg)
{
    ct_barrier_abort(arg);
    return 0;
}

static int resetting_action(void *arg)
{
    ct_barrier_reset(arg);
    return 0;
}

Test(barrier, abort_or_reset_inside_the_action, .timeout = 60)
{
    struct bunch *c = new_bunch(CT_FOREVER);
    cr_assert_eq(ct_barrier_init(&c->b, N, aborting_action, &c->b, CT_FOREVER), CT_OK);
    run_threads(c, wait_once);
    cr_assert_eq(atomic_load(&c->broken), N);
    cr_assert(ct_barrier_broken(&c->b));

    c = new_bunch(CT_FOREVER);
    cr_assert_eq(ct_barrier_init(&c->b, N, resetting_action, &c->b, CT_FOREVER), CT_OK);
    run_threads(c, wait_once);
    cr_assert_eq(atomic_load(&c->broken), N, "a reset generation did not complete");
    cr_assert_not(ct_barrier_broken(&c->b), "reset leaves it usable");
    cr_assert_eq(ct_barrier_n_waiting(&c->b), 0u);
}

/* ---- the action is atomic with its release (CPython runs both under one lock) ----
 * Another thread's reset or abort, and a waiter's deadline, that fall while
 * the last arrival runs a successful action must not void that generation:
 * reset/abort wait for the release and apply to the next generation; the
 * timed-out waiter is released with its index. */
struct atomic_race {
    ct_barrier_t b;
    atomic_int in_action, other_ready, action_done, rc_first, after_done;
    int how;                       /* 0 reset, 1 abort */
};

/* Signals that it runs, waits until the other thread is about to reset or
 * abort, then lingers (only to widen the window) before it succeeds. */
static int lingering_action(void *p)
{
    struct atomic_race *r = p;
    atomic_store(&r->in_action, 1);
    t_await_count(&r->other_ready, 1);
    t_pause_ms(30);
    atomic_store(&r->action_done, 1);
    return 0;
}

static void first_arrival(void *p)
{
    struct atomic_race *r = p;
    atomic_store(&r->rc_first, ct_barrier_wait(&r->b));
}

static void resetter(void *p)
{
    struct atomic_race *r = p;
    t_await_count(&r->in_action, 1);
    atomic_store(&r->other_ready, 1);
    if (r->how == 0)
        ct_barrier_reset(&r->b);
    else
        ct_barrier_abort(&r->b);
    atomic_store(&r->after_done, atomic_load(&r->action_done));
}

static void check_reset_or_abort_during_action(int how)
{
    struct atomic_race r = { .how = how };
    ct_thread_t first, other;
    int rc_last;

    cr_assert_eq(ct_barrier_init(&r.b, 2, lingering_action, &r, CT_FOREVER), CT_OK);
    cr_assert_eq(ct_thread_start(&first, first_arrival, &r), CT_OK);
    while (ct_barrier_n_waiting(&r.b) != 1)
        t_pause(CT_US(100));          /* the first has arrived */
    cr_assert_eq(ct_thread_start(&other, resetter, &r), CT_OK);
    rc_last = ct_barrier_wait(&r.b);                       /* runs the action */
    cr_assert_eq(ct_thread_join(&first, CT_SEC(30)), CT_OK);
    cr_assert_eq(ct_thread_join(&other, CT_SEC(30)), CT_OK);
    cr_assert_eq(rc_last, 1, "the last arrival of a generation whose action succeeded");
    cr_assert_eq(atomic_load(&r.rc_first), 0, "the first arrival (got %d)",
                 atomic_load(&r.rc_first));
    cr_assert_eq(atomic_load(&r.after_done), 1,
                 "%s returned while the action still ran", how ? "abort" : "reset");
    cr_assert_eq(ct_barrier_broken(&r.b), how == 1, "the %s applies to the next generation",
                 how ? "abort" : "reset");
}

Test(barrier, reset_during_a_successful_action_waits_for_the_release, .timeout = 60)
{
    check_reset_or_abort_during_action(0);
}

Test(barrier, abort_during_a_successful_action_waits_for_the_release, .timeout = 60)
{
    check_reset_or_abort_during_action(1);
}

static int slow_action(void *p)
{
    struct atomic_race *r = p;
    t_pause_ms(60);                /* outlasts the first arrival's 2 ms timeout */
    atomic_store(&r->action_done, 1);
    return 0;
}

static void timed_first_arrival(void *p)
{
    struct atomic_race *r = p;
    atomic_store(&r->rc_first, ct_barrier_wait_timed(&r->b, CT_MS(2)));
}

Test(barrier, a_deadline_passing_during_a_successful_action_still_releases, .timeout = 60)
{
    for (int tries = 0; tries < 20; tries++) {
        struct atomic_race r = { 0 };
        ct_thread_t first;

        cr_assert_eq(ct_barrier_init(&r.b, 2, slow_action, &r, CT_FOREVER), CT_OK);
        cr_assert_eq(ct_thread_start(&first, timed_first_arrival, &r), CT_OK);
        while (ct_barrier_n_waiting(&r.b) != 1 && !ct_barrier_broken(&r.b))
            ;                      /* spin: the window is 2 ms */
        int rc_last = ct_barrier_wait(&r.b);
        cr_assert_eq(ct_thread_join(&first, CT_SEC(30)), CT_OK);
        if (!atomic_load(&r.action_done)) {
            /* The 2 ms passed before this thread arrived (a loaded machine):
             * that timeout broke the barrier, as it should.  Try again. */
            cr_assert_eq(atomic_load(&r.rc_first), CT_ETIMEDOUT);
            cr_assert_eq(rc_last, CT_EBROKEN);
            continue;
        }
        cr_assert_eq(rc_last, 1, "the action succeeded: the generation passes (got %d)",
                     rc_last);
        cr_assert_eq(atomic_load(&r.rc_first), 0, "released, not timed out (got %d)",
                     atomic_load(&r.rc_first));
        cr_assert_not(ct_barrier_broken(&r.b));
        return;
    }
    cr_assert(false, "never arrived within the first arrival's 2 ms in 20 tries");
}

/* ---- CPython test_abort --------------------------------------------------------- */
static void abort_body(struct bunch *c, int id)
{
    (void)id;
    int i = ct_barrier_wait(&c->b);
    if (i == N / 2) {
        ct_barrier_abort(&c->b);
        return;
    }
    int r = i < 0 ? i : ct_barrier_wait(&c->b);
    if (r >= 0)
        atomic_fetch_add(&c->r1, 1);
    else if (r == CT_EBROKEN)
        atomic_fetch_add(&c->r2, 1);
    else
        atomic_fetch_add(&c->errors, 1);
}

Test(barrier, abort_breaks_it, .timeout = 60)
{
    struct bunch *c = new_bunch(CT_SEC(60));
    run_threads(c, abort_body);
    cr_assert_eq(atomic_load(&c->r1), 0);
    cr_assert_eq(atomic_load(&c->r2), N - 1);
    cr_assert_eq(atomic_load(&c->errors), 0);
    cr_assert(ct_barrier_broken(&c->b));
    cr_assert_eq(ct_barrier_n_waiting(&c->b), 0u);
}

/* ---- CPython test_reset ---------------------------------------------------------- */
static void reset_body(struct bunch *c, int id)
{
    (void)id;
    int i = ct_barrier_wait(&c->b);
    if (i == N / 2) {
        /* Wait until the others are all in the barrier again. */
        int64_t end = t_now() + CT_SEC(30);
        while (ct_barrier_n_waiting(&c->b) < N - 1 && t_now() < end)
            t_pause(CT_US(100));
        ct_barrier_reset(&c->b);
    } else if (i >= 0) {
        int r = ct_barrier_wait(&c->b);
        atomic_fetch_add(r >= 0 ? &c->r1 : r == CT_EBROKEN ? &c->r2 : &c->errors, 1);
    } else {
        atomic_fetch_add(&c->errors, 1);
    }
    /* Pass the barrier again. */
    if (ct_barrier_wait(&c->b) >= 0)
        atomic_fetch_add(&c->r3, 1);
}

Test(barrier, reset_frees_the_waiters_and_keeps_it_usable, .timeout = 60)
{
    struct bunch *c = new_bunch(CT_SEC(60));
    run_threads(c, reset_body);
    cr_assert_eq(atomic_load(&c->errors), 0);
    cr_assert_eq(atomic_load(&c->r1), 0);
    cr_assert_eq(atomic_load(&c->r2), N - 1);
    cr_assert_eq(atomic_load(&c->r3), N);
    cr_assert_not(ct_barrier_broken(&c->b));
}

/* ---- CPython test_abort_and_reset ------------------------------------------------ */
static void abort_reset_body(struct bunch *c, int id)
{
    (void)id;
    int i = ct_barrier_wait(&c->b);
    if (i == N / 2) {
        ct_barrier_abort(&c->b);
    } else {
        int r = i < 0 ? i : ct_barrier_wait(&c->b);
        atomic_fetch_add(r >= 0 ? &c->r1 : r == CT_EBROKEN ? &c->r2 : &c->errors, 1);
    }
    /* Everyone has left it before the reset, nobody enters before it. */
    if (ct_barrier_wait(&c->b2) == N / 2)
        ct_barrier_reset(&c->b);
    ct_barrier_wait(&c->b2);
    if (ct_barrier_wait(&c->b) >= 0)
        atomic_fetch_add(&c->r3, 1);
}

Test(barrier, abort_then_reset, .timeout = 60)
{
    struct bunch *c = new_bunch(CT_SEC(60));
    run_threads(c, abort_reset_body);
    cr_assert_eq(atomic_load(&c->errors), 0);
    cr_assert_eq(atomic_load(&c->r1), 0);
    cr_assert_eq(atomic_load(&c->r2), N - 1);
    cr_assert_eq(atomic_load(&c->r3), N);
}

/* ---- CPython test_timeout / test_default_timeout ------------------------------- */
static void timeout_body(struct bunch *c, int id, bool use_default)
{
    (void)id;
    int i = ct_barrier_wait_timed(&c->b, CT_SEC(60));
    if (i == N / 2) {
        /* One thread is late: it comes once the others have broken it. */
        int64_t end = t_now() + CT_SEC(30);
        while (!ct_barrier_broken(&c->b) && t_now() < end)
            t_pause(CT_US(200));
    }
    int64_t t0 = t_now();
    int r = use_default ? ct_barrier_wait(&c->b) : ct_barrier_wait_timed(&c->b, CT_MS(50));
    int64_t took = t_now() - t0;
    if (r == CT_ETIMEDOUT) {
        atomic_fetch_add(&c->timedout, 1);
        if (took < CT_MS(50) || took > CT_MS(50) + T_SLACK)
            atomic_fetch_add(&c->errors, 1);
    } else if (r == CT_EBROKEN) {
        atomic_fetch_add(&c->broken, 1);
    } else {
        atomic_fetch_add(&c->errors, 1);
    }
}

static void explicit_timeout(struct bunch *c, int id) { timeout_body(c, id, false); }
static void default_timeout(struct bunch *c, int id) { timeout_body(c, id, true); }

Test(barrier, timeout_breaks_it_for_everyone, .timeout = 60)
{
    struct bunch *c = new_bunch(CT_SEC(60));
    run_threads(c, explicit_timeout);
    cr_assert_eq(atomic_load(&c->errors), 0);
    cr_assert_eq(atomic_load(&c->timedout), 1, "exactly one thread times out");
    cr_assert_eq(atomic_load(&c->broken), N - 1, "the others see it broken");
    cr_assert(ct_barrier_broken(&c->b));
}

Test(barrier, default_timeout_from_init, .timeout = 60)
{
    struct bunch *c = new_bunch(CT_MS(50));
    run_threads(c, default_timeout);
    cr_assert_eq(atomic_load(&c->errors), 0);
    cr_assert_eq(atomic_load(&c->timedout), 1);
    cr_assert_eq(atomic_load(&c->broken), N - 1);
    cr_assert(ct_barrier_broken(&c->b));
}

Test(barrier, lone_waiter_times_out_then_reset)
{
    ct_barrier_t b;
    cr_assert_eq(ct_barrier_init(&b, 2, NULL, NULL, 0), CT_OK);
    cr_assert_eq(ct_barrier_wait(&b), CT_ETIMEDOUT, "default timeout 0 polls");
    cr_assert(ct_barrier_broken(&b));
    cr_assert_eq(ct_barrier_wait_timed(&b, CT_SEC(1)), CT_EBROKEN);
    ct_barrier_reset(&b);
    cr_assert_not(ct_barrier_broken(&b));
    cr_assert_eq(ct_barrier_wait_timed(&b, CT_MS(10)), CT_ETIMEDOUT);
}

Test(barrier, single_party)
{
    ct_barrier_t b;
    atomic_store(&action_runs, 0);
    cr_assert_eq(ct_barrier_init(&b, 1, NULL, NULL, CT_FOREVER), CT_OK);
    cr_assert_eq(ct_barrier_wait(&b), 0);
    cr_assert_eq(ct_barrier_wait(&b), 0);
    cr_assert_eq(ct_barrier_wait_timed(&b, 0), 0);
    cr_assert_eq(ct_barrier_init(&b, 1, count_action, NULL, 0), CT_OK);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(ct_barrier_wait(&b), 0);
    cr_assert_eq(atomic_load(&action_runs), 5);
    cr_assert_eq(ct_barrier_n_waiting(&b), 0u);
}

/* ---- n_waiting counts the threads in the current generation; the index is
 * the arrival order (Python: "0 for the first thread to arrive") ------------- */
#define NWAIT_PARTIES 6
struct nwait_ctx { ct_barrier_t b; atomic_int rc_sum; };
struct nwait_arg { struct nwait_ctx *c; int rc; };

static void nwait_waiter(void *p)
{
    struct nwait_arg *a = p;
    a->rc = ct_barrier_wait(&a->c->b);
    atomic_fetch_add(&a->c->rc_sum, a->rc);
}

Test(barrier, n_waiting_counts_arrivals_and_indexes_follow_arrival_order, .timeout = 60)
{
    static struct nwait_ctx c;
    static struct nwait_arg arg[NWAIT_PARTIES - 1];
    ct_thread_t t[NWAIT_PARTIES - 1];
    memset(&c, 0, sizeof c);
    cr_assert_eq(ct_barrier_init(&c.b, NWAIT_PARTIES, NULL, NULL, CT_FOREVER), CT_OK);
    for (int round = 0; round < 2; round++) {
        atomic_store(&c.rc_sum, 0);
        /* One arrival at a time: thread i starts once i threads are in. */
        for (int i = 0; i < NWAIT_PARTIES - 1; i++) {
            arg[i] = (struct nwait_arg){ &c, -100 };
            cr_assert_eq(ct_thread_start(&t[i], nwait_waiter, &arg[i]), CT_OK);
            int64_t end = t_now() + CT_SEC(30);
            while (ct_barrier_n_waiting(&c.b) < (unsigned)i + 1 && t_now() < end)
                t_pause(CT_US(100));
            cr_assert_eq(ct_barrier_n_waiting(&c.b), (unsigned)i + 1);
        }
        cr_assert_eq(ct_barrier_wait(&c.b), NWAIT_PARTIES - 1, "the last arrival's index");
        for (int i = 0; i < NWAIT_PARTIES - 1; i++) {
            cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
            cr_assert_eq(arg[i].rc, i, "arrival %d of round %d got index %d", i, round,
                         arg[i].rc);
        }
        cr_assert_eq(atomic_load(&c.rc_sum), (NWAIT_PARTIES - 1) * (NWAIT_PARTIES - 2) / 2);
        cr_assert_eq(ct_barrier_n_waiting(&c.b), 0u);
    }
}

/* ---- stress: 8 threads over many generations ------------------------------------ */
#define STRESS_THREADS 8
#if defined(CT__TSAN) || defined(__SANITIZE_ADDRESS__)
#define STRESS_GENERATIONS 5000      /* TSan/ASan: ~20x slower per hand-off */
#else
#define STRESS_GENERATIONS 100000
#endif

struct stress_ctx {
    ct_barrier_t b;
    long generation;                 /* written only by the action */
    long index_sum[STRESS_THREADS];  /* per thread */
    atomic_int errors;
};

static int stress_action(void *arg)
{
    struct stress_ctx *c = arg;
    c->generation++;                 /* plain: the barrier orders it */
    return 0;
}

static void stress_body(void *p)
{
    struct stress_ctx *c = p;
    static atomic_int ids;
    int me = atomic_fetch_add(&ids, 1) % STRESS_THREADS;
    for (long g = 1; g <= STRESS_GENERATIONS; g++) {
        int r = ct_barrier_wait(&c->b);
        if (r < 0 || r >= STRESS_THREADS || c->generation != g)
            atomic_fetch_add(&c->errors, 1);
        else
            c->index_sum[me] += r;
    }
}

Test(barrier, eight_threads_many_generations, .timeout = 600)
{
    static struct stress_ctx c;
    ct_thread_t t[STRESS_THREADS];
    long total = 0;
    memset(&c, 0, sizeof c);
    cr_assert_eq(ct_barrier_init(&c.b, STRESS_THREADS, stress_action, &c, CT_FOREVER), CT_OK);
    for (int i = 0; i < STRESS_THREADS; i++)
        cr_assert_eq(ct_thread_start(&t[i], stress_body, &c), CT_OK);
    for (int i = 0; i < STRESS_THREADS; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
    cr_assert_eq(atomic_load(&c.errors), 0);
    cr_assert_eq(c.generation, STRESS_GENERATIONS);
    for (int i = 0; i < STRESS_THREADS; i++)
        total += c.index_sum[i];
    cr_assert_eq(total, (long)STRESS_GENERATIONS * (STRESS_THREADS * (STRESS_THREADS - 1) / 2));
    cr_assert_eq(ct_barrier_n_waiting(&c.b), 0u);
    cr_assert_not(ct_barrier_broken(&c.b));
}
