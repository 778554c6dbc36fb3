/* GIL: mutual exclusion, drop requests and forced switching (CPython's
 * ceval_gil.c behaviour), the PyGILState API from foreign threads, every
 * error code, switch interval, statistics, fork, and both modes. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#ifndef _WIN32
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#endif
#include "ct_test.h"
#include "helpers.h"
#include "internal/gil.h"   /* white-box: the real layout and the state bits */

static const int modes[] = { CT_GIL_CLASSIC, CT_GIL_PRIORITY };
#define FOR_EACH_MODE(m) for (size_t mi_ = 0; mi_ < 2; mi_++) for (int m = modes[mi_], once_ = 1; once_; once_ = 0)

/* White-box: the QUEUED bit of the state word (internal/gil.h). */
static bool someone_queued(ct_gil_t *g)
{
    return (atomic_load((_Atomic uint32_t *)&ct__gil_of(g)->state) & CT__GIL_QUEUED) != 0;
}

static void await_queued(ct_gil_t *g)
{
    (void)T_AWAIT(someone_queued(g), CT_SEC(30));
}

Test(gil, init_defaults_and_destroy)
{
    FOR_EACH_MODE(m) {
        ct_gil_t g;
        ct_gil_stats_t st;
        cr_assert_eq(ct_gil_init(&g, m), CT_OK);
        cr_assert_eq(ct_gil_switch_interval(&g), CT_MS(5));
        cr_assert_not(ct_gil_held(&g));
        ct_gil_stats(&g, &st);
        cr_assert_eq(st.switches, 0u);
        cr_assert_eq(st.forced_drops, 0u);
        cr_assert_eq(st.wait_total_ns, 0u);
        cr_assert_eq(st.thread_states, 0u);
        cr_assert_eq(ct_gil_acquire(&g), CT_OK);
        cr_assert(ct_gil_held(&g));
        cr_assert_eq(ct_gil_poll(&g), 0, "nobody waits: nothing to do");
        cr_assert_eq(ct_gil_yield(&g), 0, "nobody waits: no switch");
        cr_assert_eq(ct_gil_release(&g), CT_OK);
        cr_assert_not(ct_gil_held(&g));
        ct_gil_destroy(&g);
    }
}

/* ---- error codes ------------------------------------------------------------------ */

struct other_ctx { ct_gil_t *g; int release_rc, yield_rc, poll_rc, state_rc; bool held; };

static void not_holder_calls(void *p)
{
    struct other_ctx *c = p;
    c->held = ct_gil_held(c->g);
    c->release_rc = ct_gil_release(c->g);
    c->yield_rc = ct_gil_yield(c->g);
    c->state_rc = ct_gil_release_state(c->g, CT_GIL_STATE_UNLOCKED);
}

struct waiter_ctx { ct_gil_t *g; atomic_int started, done; int rc; int64_t waited; };

static void acquire_release(void *p)
{
    struct waiter_ctx *c = p;
    int64_t t0;
    atomic_store(&c->started, 1);
    t0 = t_now();
    c->rc = ct_gil_acquire(c->g);
    c->waited = t_now() - t0;
    atomic_store(&c->done, 1);
    ct_gil_release(c->g);
}

Test(gil, every_error_code, .timeout = 60)
{
    FOR_EACH_MODE(m) {
        ct_gil_t g;
        ct_thread_t t;
        struct other_ctx c = { &g, 99, 99, 99, 99, true };
        ct_gil_state_t st;

        cr_assert_eq(ct_gil_init(&g, 7), CT_EINVAL);
        cr_assert_eq(ct_gil_init(&g, -1), CT_EINVAL);
        cr_assert_eq(ct_gil_init(&g, m), CT_OK);

        /* Not held: release, yield, release_state. */
        cr_assert_eq(ct_gil_release(&g), CT_EPERM);
        cr_assert_eq(ct_gil_yield(&g), CT_EPERM);
        cr_assert_eq(ct_gil_release_state(&g, CT_GIL_STATE_LOCKED), CT_EPERM, "no ensure open");
        cr_assert_eq(ct_gil_release_state(&g, (ct_gil_state_t)5), CT_EINVAL);

        /* Held: acquire again deadlocks; other threads get EPERM. */
        cr_assert_eq(ct_gil_acquire(&g), CT_OK);
        cr_assert_eq(ct_gil_acquire(&g), CT_EDEADLK);
        cr_assert(ct_gil_held(&g), "EDEADLK left it held");
        cr_assert_eq(ct_gil_release_state(&g, CT_GIL_STATE_LOCKED), CT_EPERM,
                     "held, but no ensure open");
        cr_assert_eq(ct_thread_start(&t, not_holder_calls, &c), CT_OK);
        cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
        cr_assert_not(c.held);
        cr_assert_eq(c.release_rc, CT_EPERM);
        cr_assert_eq(c.yield_rc, CT_EPERM);
        cr_assert_eq(c.state_rc, CT_EPERM);
        cr_assert(ct_gil_held(&g), "a foreign EPERM did not release it");

        /* Interval: <= 0 is EINVAL, above CT_TIMEOUT_MAX is EOVERFLOW. */
        cr_assert_eq(ct_gil_set_switch_interval(&g, 0), CT_EINVAL);
        cr_assert_eq(ct_gil_set_switch_interval(&g, -5), CT_EINVAL);
        cr_assert_eq(ct_gil_set_switch_interval(&g, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
        cr_assert_eq(ct_gil_switch_interval(&g), CT_MS(5), "errors left it unchanged");

        /* release_state: an ensure that found it held; then nesting. */
        st = ct_gil_ensure(&g);
        cr_assert_eq(st, CT_GIL_STATE_LOCKED);
        cr_assert_eq(ct_gil_release_state(&g, (ct_gil_state_t)-1), CT_EINVAL);
        cr_assert_eq(ct_gil_release_state(&g, st), CT_OK);
        cr_assert(ct_gil_held(&g));
        cr_assert_eq(ct_gil_release_state(&g, st), CT_EPERM, "more releases than ensures");
        cr_assert_eq(ct_gil_release(&g), CT_OK);
        ct_gil_destroy(&g);
    }
}

/* poll by a non-holder while a request is pending: CT_EPERM. */
struct poller_ctx { ct_gil_t *g; int rc; };

static void poll_until_pending(void *p)
{
    struct poller_ctx *c = p;
    int64_t end = t_now() + CT_SEC(30);
    while ((c->rc = ct_gil_poll(c->g)) == 0 && t_now() < end)
        t_pause(CT_US(50));
}

Test(gil, poll_by_non_holder_is_eperm, .timeout = 60)
{
    ct_gil_t g;
    ct_thread_t t, p;
    struct waiter_ctx w;
    struct poller_ctx pc;

    cr_assert_eq(ct_gil_init(&g, CT_GIL_PRIORITY), CT_OK);
    memset(&w, 0, sizeof w);
    w.g = &g;
    pc = (struct poller_ctx){ &g, 99 };
    cr_assert_eq(ct_gil_acquire(&g), CT_OK);
    cr_assert_eq(ct_thread_start(&t, acquire_release, &w), CT_OK);
    await_queued(&g);        /* a returning thread asks for a drop at once */
    cr_assert_eq(ct_thread_start(&p, poll_until_pending, &pc), CT_OK);
    cr_assert_eq(ct_thread_join(&p, CT_FOREVER), CT_OK);
    cr_assert_eq(pc.rc, CT_EPERM);
    cr_assert(ct_gil_held(&g), "a foreign poll did not hand it over");
    {
        /* The holder's poll does: at once, or, if the returning waiter went
         * to sleep meanwhile, after it woke it and the waiter asked again. */
        int rc, polls = 0;
        int64_t end = t_now() + CT_SEC(30);
        while ((rc = ct_gil_poll(&g)) == 0 && t_now() < end)
            polls++;
        cr_assert_eq(rc, 1, "the holder's poll does (after %d polls returned 0)", polls);
    }
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(w.rc, CT_OK);
    cr_assert_eq(ct_gil_release(&g), CT_OK);
    ct_gil_destroy(&g);
}

/* PRIORITY: a returning thread that has slept for a while is served by the
 * holder's first poll (no nudge: a holder that polls that rarely would make
 * it wait another whole period).  The holder lets 20 ms pass after the
 * returner queued — the rule under test is about time — so the returner's
 * spin (100 µs) has long run out and it parked ≥ 50 µs before the poll,
 * unless it was descheduled for those 20 ms and parked just before: so up
 * to three tries, one must be served at once.  The switch interval is 10 s,
 * so the returner's deadline does not wake it to park again meanwhile.
 * (Before the rule, every first poll nudged and returned 0.) */
Test(gil, priority_long_asleep_returner_served_at_first_poll, .timeout = 60)
{
    int served_at_once = 0;

    for (int attempt = 0; attempt < 3 && !served_at_once; attempt++) {
        ct_gil_t g;
        ct_thread_t t;
        struct waiter_ctx w;
        int rc;

        cr_assert_eq(ct_gil_init(&g, CT_GIL_PRIORITY), CT_OK);
        cr_assert_eq(ct_gil_set_switch_interval(&g, CT_SEC(10)), CT_OK);
        memset(&w, 0, sizeof w);
        w.g = &g;
        cr_assert_eq(ct_gil_acquire(&g), CT_OK);
        cr_assert_eq(ct_thread_start(&t, acquire_release, &w), CT_OK);
        await_queued(&g);
        cr_assert_eq(ct_sleep(CT_MS(20)), CT_OK);
        rc = ct_gil_poll(&g);
        cr_assert(rc == 0 || rc == 1, "poll: %d", rc);
        if (rc == 1) {
            served_at_once = 1;
            cr_assert_eq(atomic_load(&w.done), 1, "handed over, the returner ran");
        } else {
            int64_t end = t_now() + CT_SEC(30);
            while ((rc = ct_gil_poll(&g)) == 0 && t_now() < end)
                ;
            cr_assert_eq(rc, 1);
        }
        cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
        cr_assert_eq(w.rc, CT_OK);
        cr_assert_eq(ct_gil_release(&g), CT_OK);
        ct_gil_destroy(&g);
    }
    cr_assert(served_at_once, "three first polls nudged a returner asleep for 20 ms");
}

/* ---- mutual exclusion -------------------------------------------------------------- */

#define MX_THREADS 8
#define MX_ITERS 3000

struct mx_ctx {
    ct_gil_t g;
    long counter;            /* only touched with the GIL held */
    int inside;              /* ditto: must be 0 on entry */
    atomic_int violations;
};

static void mx_body(void *p)
{
    struct mx_ctx *c = p;
    for (int i = 0; i < MX_ITERS; i++) {
        ct_gil_state_t st = CT_GIL_STATE_LOCKED;
        switch (i % 4) {
        case 0: ct_gil_acquire(&c->g); break;
        case 1: st = ct_gil_ensure(&c->g); break;
        default: ct_gil_acquire(&c->g); break;
        }
        if (c->inside++ != 0)
            atomic_fetch_add(&c->violations, 1);
        long v = c->counter;
        for (volatile int k = 0; k < 50; k++) {
        }
        c->counter = v + 1;
        c->inside--;
        if (i % 16 == 0)
            ct_gil_poll(&c->g);
        if (i % 64 == 0)
            ct_gil_yield(&c->g);
        if (c->inside != 0)
            atomic_fetch_add(&c->violations, 1);
        if (i % 4 == 1) {
            ct_gil_release_state(&c->g, st);
        } else if (i % 4 == 2) {
            CT_BEGIN_ALLOW_THREADS(&c->g)
            for (volatile int k = 0; k < 20; k++) {
            }
            CT_END_ALLOW_THREADS(&c->g)
            ct_gil_release(&c->g);
        } else {
            ct_gil_release(&c->g);
        }
    }
}

Test(gil, mutual_exclusion_8_threads, .timeout = 120)
{
    FOR_EACH_MODE(m) {
        static struct mx_ctx c;
        ct_thread_t t[MX_THREADS];
        ct_gil_stats_t st;
        memset(&c, 0, sizeof c);
        cr_assert_eq(ct_gil_init(&c.g, m), CT_OK);
        cr_assert_eq(ct_gil_set_switch_interval(&c.g, CT_US(200)), CT_OK);
        cr_assert_eq(t_spawn_n(t, MX_THREADS, mx_body, &c, 0), CT_OK);
        cr_assert_eq(t_join_n(t, MX_THREADS), CT_OK);
        cr_assert_eq(c.counter, (long)MX_THREADS * MX_ITERS, "lost updates (mode %d)", m);
        cr_assert_eq(atomic_load(&c.violations), 0);
        cr_assert_not(ct_gil_held(&c.g));
        ct_gil_stats(&c.g, &st);
        cr_assert_geq(st.switches, (uint64_t)MX_THREADS, "every thread had it at least once");
        cr_assert_leq(st.wait_max_ns, st.wait_total_ns);
        cr_assert_leq(st.forced_drops, st.drop_requests);
        ct_gil_destroy(&c.g);
    }
}

/* ---- drop requests: eventual and forced switching ---------------------------------- */

struct cpu_ctx {
    ct_gil_t *g;
    atomic_int stop;
    atomic_int started;
    int other_had_it;        /* set by the other thread under the GIL */
    atomic_int retakes;      /* polls that returned 1 */
    int bad_retakes;         /* retakes although nobody else had it */
    long work;
};

/* A CPU-bound holder: polls only. */
static void cpu_holder(void *p)
{
    struct cpu_ctx *c = p;
    ct_gil_acquire(c->g);
    atomic_store(&c->started, 1);
    while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
        c->work++;
        int rc = ct_gil_poll(c->g);
        if (rc == 1) {
            atomic_fetch_add(&c->retakes, 1);
            if (!c->other_had_it)
                c->bad_retakes++;
            c->other_had_it = 0;
        }
    }
    ct_gil_release(c->g);
}

struct taker_ctx {
    ct_gil_t *g;
    struct cpu_ctx *cpu;
    int rounds;
    int64_t max_wait;
    int rc;
    int64_t total_wait;      /* sum of the acquire times (ns) */
};

static void taker(void *p)
{
    struct taker_ctx *k = p;
    for (int i = 0; i < k->rounds; i++) {
        int64_t t0 = t_now();
        if (ct_gil_acquire(k->g) != CT_OK)
            k->rc = -100;
        int64_t w = t_now() - t0;
        k->total_wait += w;
        if (w > k->max_wait)
            k->max_wait = w;
        k->cpu->other_had_it = 1;
        ct_gil_release(k->g);
        /* Like an I/O thread: stay away until the holder is back (else this
         * thread would simply re-take the GIL it just released, as in CPython). */
        int64_t end = t_now() + CT_SEC(30);
        while (atomic_load(&k->cpu->retakes) < i + 1 && t_now() < end)
            t_pause(CT_US(20));
    }
}

/* Runs a polling CPU-bound holder and a taker that takes the GIL `rounds`
 * times from it, on a fresh GIL g of the given mode and switch interval.
 * Returns how long the taker took (ns); g is left initialised for the
 * caller's checks (and ct_gil_destroy). */
static int64_t run_holder_and_taker(ct_gil_t *g, int mode, int64_t interval_ns, int rounds,
                                    struct cpu_ctx *c, struct taker_ctx *k)
{
    ct_thread_t th, tt;
    int64_t t0, took;

    memset(c, 0, sizeof *c);
    c->g = g;
    *k = (struct taker_ctx){ .g = g, .cpu = c, .rounds = rounds };
    cr_assert_eq(ct_gil_init(g, mode), CT_OK);
    cr_assert_eq(ct_gil_set_switch_interval(g, interval_ns), CT_OK);
    cr_assert_eq(ct_gil_switch_interval(g), interval_ns);
    cr_assert_eq(ct_thread_start(&th, cpu_holder, c), CT_OK);
    cr_assert(t_await(&c->started, CT_SEC(30)));
    t0 = t_now();
    cr_assert_eq(ct_thread_start(&tt, taker, k), CT_OK);
    cr_assert_eq(ct_thread_join(&tt, CT_FOREVER), CT_OK);
    took = t_now() - t0;
    atomic_store(&c->stop, 1);
    cr_assert_eq(ct_thread_join(&th, CT_FOREVER), CT_OK);
    return took;
}

Test(gil, eventual_and_forced_switching, .timeout = 120)
{
    FOR_EACH_MODE(m) {
        ct_gil_t g;
        struct cpu_ctx c;
        struct taker_ctx k;
        ct_gil_stats_t st;

        (void)run_holder_and_taker(&g, m, CT_MS(1), 20, &c, &k);

        cr_assert_eq(k.rc, 0);
        cr_assert_lt(k.max_wait, T_SLACK, "a waiter got the GIL from a polling holder");
        cr_assert_geq(atomic_load(&c.retakes), 1, "the holder honoured drop requests");
        cr_assert_eq(c.bad_retakes, 0, "forced switching: the dropper is not the next holder");
        ct_gil_stats(&g, &st);
        cr_assert_eq(st.forced_drops, (uint64_t)atomic_load(&c.retakes), "stats count each honoured drop");
        cr_assert_geq(st.drop_requests, 1u);
        cr_assert_geq(st.switches, 2u * (uint64_t)atomic_load(&c.retakes));
        ct_gil_destroy(&g);
    }
}

/* Classic mode: a returning thread waits about one interval behind a polling
 * holder (CPython's shape); never less, because the holder drops only on a
 * request and the request comes after a full interval. */
Test(gil, classic_waits_one_interval, .timeout = 60)
{
    ct_gil_t g;
    struct cpu_ctx c;
    struct taker_ctx k;
    ct_gil_stats_t st;

    (void)run_holder_and_taker(&g, CT_GIL_CLASSIC, CT_MS(20), 5, &c, &k);
    ct_gil_stats(&g, &st);
    /* Each of the 5 takes waited at least one interval. */
    cr_assert_geq(st.wait_total_ns, 5u * (uint64_t)CT_MS(20));
    cr_assert_geq(st.wait_max_ns, (uint64_t)CT_MS(20));
    cr_assert_eq(st.forced_drops, 5u);
    ct_gil_destroy(&g);
}

/* Classic mode, from above: the holder is asked to drop once one interval
 * has passed, so a returning thread waits about one interval per take.  The
 * bound is loose (5 intervals per take, plus a second for the whole run on a
 * loaded machine) but a switch that takes 20 intervals breaks it. */
Test(gil, classic_switch_waits_at_most_a_few_intervals, .timeout = 60)
{
    enum { ROUNDS = 4 };
    const int64_t interval = CT_MS(50);
    ct_gil_t g;
    struct cpu_ctx c;
    struct taker_ctx k;

    (void)run_holder_and_taker(&g, CT_GIL_CLASSIC, interval, ROUNDS, &c, &k);
    cr_assert_eq(k.rc, 0);
    cr_assert_geq(k.total_wait, ROUNDS * interval, "a take came before its interval");
    cr_assert_lt(k.total_wait, ROUNDS * 5 * interval + CT_SEC(1),
                 "%d takes waited %lld ms with a %lld ms switch interval", ROUNDS,
                 (long long)(k.total_wait / 1000000), (long long)(interval / 1000000));
    ct_gil_destroy(&g);
}

/* Priority mode: with an interval far longer than the test, a returning
 * thread still gets the GIL from a CPU-bound holder at once. */
Test(gil, priority_returning_thread_preempts_at_once, .timeout = 60)
{
    ct_gil_t g;
    struct cpu_ctx c;
    struct taker_ctx k;
    ct_gil_stats_t st;
    int64_t took = run_holder_and_taker(&g, CT_GIL_PRIORITY, CT_SEC(600), 200, &c, &k);

    cr_assert_lt(took, T_SLACK, "200 returns took %lld ns", (long long)took);
    cr_assert_eq(c.bad_retakes, 0);
    ct_gil_stats(&g, &st);
    cr_assert_geq(st.forced_drops, 1u);
    ct_gil_destroy(&g);
}

/* Two CPU-bound threads share by the interval in both modes. */
struct share_ctx { ct_gil_t *g; atomic_int stop; atomic_int ready; long work[2]; };

static void share_body(struct share_ctx *s, int idx)
{
    atomic_fetch_add(&s->ready, 1);
    ct_gil_acquire(s->g);
    while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        s->work[idx]++;
        ct_gil_poll(s->g);
    }
    ct_gil_release(s->g);
}
static void share0(void *p) { share_body(p, 0); }
static void share1(void *p) { share_body(p, 1); }

Test(gil, two_cpu_threads_share, .timeout = 60)
{
    FOR_EACH_MODE(m) {
        ct_gil_t g;
        struct share_ctx s;
        ct_thread_t a, b;
        ct_gil_stats_t st;
        memset(&s, 0, sizeof s);
        s.g = &g;
        cr_assert_eq(ct_gil_init(&g, m), CT_OK);
        cr_assert_eq(ct_gil_set_switch_interval(&g, CT_MS(1)), CT_OK);
        cr_assert_eq(ct_thread_start(&a, share0, &s), CT_OK);
        cr_assert_eq(ct_thread_start(&b, share1, &s), CT_OK);
        /* Run until each got at least 5 drops' worth of switches. */
        int64_t end = t_now() + CT_SEC(30);
        do {
            t_pause(CT_MS(5));
            ct_gil_stats(&g, &st);
        } while (st.forced_drops < 10 && t_now() < end);
        atomic_store(&s.stop, 1);
        cr_assert_eq(ct_thread_join(&a, CT_FOREVER), CT_OK);
        cr_assert_eq(ct_thread_join(&b, CT_FOREVER), CT_OK);
        cr_assert_geq(st.forced_drops, 10u, "mode %d: CPU threads switch by drop requests", m);
        cr_assert_gt(s.work[0], 0);
        cr_assert_gt(s.work[1], 0);
        ct_gil_destroy(&g);
    }
}

/* ---- PyGILState from foreign threads ------------------------------------------------- */

#define ENSURE_THREADS 4

struct ensure_ctx {
    ct_gil_t *g, *g2;
    int errors;
    uint64_t states_seen;
    long *counter;
};

static void *ensure_body(void *p)
{
    struct ensure_ctx *c = p;
    for (int i = 0; i < 200; i++) {
        ct_gil_state_t a = ct_gil_ensure(c->g);
        if (a != CT_GIL_STATE_UNLOCKED || !ct_gil_held(c->g)) c->errors++;
        ct_gil_state_t b = ct_gil_ensure(c->g);
        if (b != CT_GIL_STATE_LOCKED) c->errors++;
        ct_gil_state_t d = ct_gil_ensure(c->g2);  /* a second GIL at the same time */
        if (d != CT_GIL_STATE_UNLOCKED || !ct_gil_held(c->g2)) c->errors++;
        (*c->counter)++;
        if (i == 0) {
            ct_gil_stats_t st;
            ct_gil_stats(c->g, &st);
            c->states_seen = st.thread_states;
        }
        if (ct_gil_release_state(c->g2, d) != CT_OK) c->errors++;
        if (ct_gil_release_state(c->g, b) != CT_OK) c->errors++;
        if (!ct_gil_held(c->g)) c->errors++;
        if (ct_gil_release_state(c->g, a) != CT_OK) c->errors++;
        if (ct_gil_held(c->g) || ct_gil_held(c->g2)) c->errors++;
    }
    return NULL;
}

static void ensure_body_ct(void *p) { (void)ensure_body(p); }

Test(gil, ensure_nesting_from_foreign_threads_state_freed, .timeout = 60)
{
    FOR_EACH_MODE(m) {
        ct_gil_t g, g2;
        ct_gil_stats_t st;
        long counter = 0;
        struct ensure_ctx c[ENSURE_THREADS];
        cr_assert_eq(ct_gil_init(&g, m), CT_OK);
        cr_assert_eq(ct_gil_init(&g2, m), CT_OK);
        for (int i = 0; i < ENSURE_THREADS; i++)
            c[i] = (struct ensure_ctx){ &g, &g2, 0, 0, &counter };
#ifndef _WIN32
        pthread_t t[ENSURE_THREADS];
        for (int i = 0; i < ENSURE_THREADS; i++)
            cr_assert_eq(pthread_create(&t[i], NULL, ensure_body, &c[i]), 0);
        for (int i = 0; i < ENSURE_THREADS; i++)
            cr_assert_eq(pthread_join(t[i], NULL), 0);
#else
        ct_thread_t t[ENSURE_THREADS];
        cr_assert_eq(t_spawn_n(t, ENSURE_THREADS, ensure_body_ct, c, sizeof c[0]), CT_OK);
        cr_assert_eq(t_join_n(t, ENSURE_THREADS), CT_OK);
#endif
        (void)ensure_body_ct;
        for (int i = 0; i < ENSURE_THREADS; i++) {
            cr_assert_eq(c[i].errors, 0, "thread %d", i);
            cr_assert_geq(c[i].states_seen, 1u);
            cr_assert_leq(c[i].states_seen, (uint64_t)ENSURE_THREADS);
        }
        cr_assert_eq(counter, 200L * ENSURE_THREADS);
        ct_gil_stats(&g, &st);
        cr_assert_eq(st.thread_states, 0u, "per-thread states freed at thread exit");
        ct_gil_stats(&g2, &st);
        cr_assert_eq(st.thread_states, 0u);

        /* The main thread's own state lives on until it exits. */
        ct_gil_state_t s = ct_gil_ensure(&g);
        cr_assert_eq(s, CT_GIL_STATE_UNLOCKED);
        ct_gil_stats(&g, &st);
        cr_assert_eq(st.thread_states, 1u);
        cr_assert_eq(ct_gil_release_state(&g, s), CT_OK);
        ct_gil_destroy(&g);
        ct_gil_destroy(&g2);
    }
}

/* A GIL destroyed while a thread still has a state on it: the state is
 * detached and freed when the thread exits; a new GIL at the same address
 * starts with no states. */
struct detach_ctx { ct_gil_t *g; atomic_int ensured, go; int errors; };

static void detach_body(void *p)
{
    struct detach_ctx *c = p;
    ct_gil_state_t s = ct_gil_ensure(c->g);
    if (ct_gil_release_state(c->g, s) != CT_OK) c->errors++;
    atomic_store(&c->ensured, 1);
    t_await(&c->go, CT_SEC(30));
    /* Same address, new GIL: a fresh state, reusing the detached one. */
    s = ct_gil_ensure(c->g);
    if (s != CT_GIL_STATE_UNLOCKED) c->errors++;
    if (ct_gil_release_state(c->g, s) != CT_OK) c->errors++;
}

Test(gil, destroy_detaches_thread_states, .timeout = 60)
{
    ct_gil_t g;
    ct_gil_stats_t st;
    ct_thread_t t;
    struct detach_ctx c;
    memset(&c, 0, sizeof c);
    c.g = &g;
    cr_assert_eq(ct_gil_init(&g, CT_GIL_CLASSIC), CT_OK);
    cr_assert_eq(ct_thread_start(&t, detach_body, &c), CT_OK);
    cr_assert(t_await(&c.ensured, CT_SEC(30)));
    ct_gil_stats(&g, &st);
    cr_assert_eq(st.thread_states, 1u);
    ct_gil_destroy(&g);
    cr_assert_eq(ct_gil_init(&g, CT_GIL_PRIORITY), CT_OK);
    ct_gil_stats(&g, &st);
    cr_assert_eq(st.thread_states, 0u);
    atomic_store(&c.go, 1);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(c.errors, 0);
    ct_gil_stats(&g, &st);
    cr_assert_eq(st.thread_states, 0u);
    ct_gil_destroy(&g);
}

/* ---- statistics ------------------------------------------------------------------------ */

static void acquire_release_once(void *p)
{
    ct_gil_acquire(p);
    ct_gil_release(p);
}

Test(gil, stats_match_what_happened)
{
    FOR_EACH_MODE(m) {
        ct_gil_t g;
        ct_gil_stats_t st;
        ct_thread_t t;
        cr_assert_eq(ct_gil_init(&g, m), CT_OK);
        for (int i = 0; i < 10; i++) {
            cr_assert_eq(ct_gil_acquire(&g), CT_OK);
            cr_assert_eq(ct_gil_poll(&g), 0);
            cr_assert_eq(ct_gil_release(&g), CT_OK);
        }
        ct_gil_stats(&g, &st);
        cr_assert_eq(st.switches, 1u, "one thread re-taking is not a switch");
        cr_assert_eq(st.forced_drops, 0u);
        cr_assert_eq(st.drop_requests, 0u);
        cr_assert_eq(st.wait_total_ns, 0u, "never contended");
        cr_assert_eq(st.wait_max_ns, 0u);
        cr_assert_eq(ct_thread_start(&t, acquire_release_once, &g), CT_OK);
        cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
        ct_gil_acquire(&g);
        ct_gil_release(&g);
        ct_gil_stats(&g, &st);
        cr_assert_eq(st.switches, 3u, "main -> other -> main");
        ct_gil_destroy(&g);
    }
}

/* A waiter's blocked time is recorded, and only the waiter's. */
Test(gil, stats_wait_time, .timeout = 60)
{
    FOR_EACH_MODE(m) {
        ct_gil_t g;
        ct_gil_stats_t st;
        ct_thread_t t;
        struct waiter_ctx w;
        memset(&w, 0, sizeof w);
        w.g = &g;
        cr_assert_eq(ct_gil_init(&g, m), CT_OK);
        cr_assert_eq(ct_gil_acquire(&g), CT_OK);
        cr_assert_eq(ct_thread_start(&t, acquire_release, &w), CT_OK);
        await_queued(&g);
        t_pause(CT_MS(20));                         /* widen: the waiter waits longer */
        cr_assert_eq(atomic_load(&w.done), 0, "got a held GIL");
        cr_assert_eq(ct_gil_release(&g), CT_OK);
        cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
        cr_assert_eq(w.rc, CT_OK);
        ct_gil_stats(&g, &st);
        cr_assert_geq(st.wait_total_ns, (uint64_t)CT_MS(20));
        cr_assert_eq(st.wait_max_ns, st.wait_total_ns, "one wait only");
        cr_assert_leq(st.wait_total_ns, (uint64_t)w.waited);
        cr_assert_eq(st.switches, 2u);
        ct_gil_destroy(&g);
    }
}

/* ---- fork ---------------------------------------------------------------------------------- */
#ifndef _WIN32
Test(gil, fork_child_holds_a_working_gil, .timeout = 60)
{
    FOR_EACH_MODE(m) {
        ct_gil_t g, free_gil;
        ct_thread_t t;
        struct waiter_ctx w;
        int status = -1;
        memset(&w, 0, sizeof w);
        w.g = &g;
        cr_assert_eq(ct_gil_init(&g, m), CT_OK);
        cr_assert_eq(ct_gil_init(&free_gil, m), CT_OK);
        cr_assert_eq(ct_gil_acquire(&g), CT_OK);
        cr_assert_eq(ct_thread_start(&t, acquire_release, &w), CT_OK);
        await_queued(&g);                            /* a thread waits at the fork */
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            int bad = 0;
            ct_gil_stats_t st;
            if (!ct_gil_held(&g)) bad |= 1;
            if (someone_queued(&g)) bad |= 2;
            if (ct_gil_poll(&g) != 0) bad |= 4;
            if (ct_gil_yield(&g) != 0) bad |= 8;      /* nobody waits */
            if (ct_gil_release(&g) != CT_OK) bad |= 16;
            if (ct_gil_acquire(&g) != CT_OK) bad |= 32;
            ct_gil_state_t s = ct_gil_ensure(&g);
            if (s != CT_GIL_STATE_LOCKED) bad |= 64;
            if (ct_gil_release_state(&g, s) != CT_OK) bad |= 64;
            if (ct_gil_release(&g) != CT_OK) bad |= 16;
            if (ct_gil_held(&free_gil)) bad |= 128;
            if (ct_gil_acquire(&free_gil) != CT_OK || ct_gil_release(&free_gil) != CT_OK)
                bad |= 128;
            ct_gil_stats(&g, &st);
            if (st.thread_states != 1) bad |= 64;
            _exit(bad);
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status));
        cr_assert_eq(WEXITSTATUS(status), 0, "child failures mask %d", WEXITSTATUS(status));
        /* The parent is unaffected. */
        cr_assert(ct_gil_held(&g));
        cr_assert_eq(ct_gil_release(&g), CT_OK);
        cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
        cr_assert_eq(w.rc, CT_OK);
        ct_gil_destroy(&g);
        ct_gil_destroy(&free_gil);
    }
}
#endif
