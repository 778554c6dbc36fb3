/* Torture: the wait layer (ct_wait / ct_wake_one / ct_wake_all).
 *
 * A few shared sequence words.  Waiters load a word and sleep on that value
 * with a random timeout (0 to a few ms, sometimes 50 ms, sometimes
 * CT_FOREVER: only an untimed waiter turns a lost wake-up into a hang the
 * driver reports; a timed one just times out); wakers bump a word
 * and wake all its sleepers (or one: an extra wake, harmless), then publish
 * "the wake for value v completed at time t".
 *
 * Invariants:
 *   - no lost wake-up: a waiter that times out although a wake for a value
 *     beyond the one it slept on completed more than the bound before it
 *     returned was not woken;
 *   - timed waits never return CT_ETIMEDOUT early (signals, spurious wakes);
 *   - a wait on a value the word no longer holds returns CT_OK at once;
 *   - bad timeouts are rejected;
 *   - no lost wake-up at the round end: the driver bumps every word and wakes
 *     all its sleepers (stop), so every waiter, CT_FOREVER ones included,
 *     must check in within the bound (a wake_all that wakes only one, or a
 *     wake that wakes nobody, leaves the others asleep: reported as a hang).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

#include "torture.h"

#define WORDS 4

enum { C_WOKEN, C_TIMEOUTS, C_WAKES, C_MISMATCH, C_BAD_ARGS };
static const char *const names[] = { "woken", "timeouts", "wakes", "mismatch", "bad_args",
                                     NULL };

struct word {
    uint32_t seq;                  /* the word slept on (atomic via the casts) */
    atomic_int waker;              /* one waker per word at a time */
    _Atomic uint32_t woken_seq;    /* newest value whose wake_all completed */
    _Atomic int64_t woken_at;      /* ... and when (ns) */
    char pad[40];
};

struct state {
    struct word w[WORDS];
    atomic_int stopping;           /* set by stop(): no new CT_FOREVER wait */
};

static _Atomic uint32_t *seq_of(struct word *x) { return (_Atomic uint32_t *)&x->seq; }

static void *setup(int nthreads)
{
    (void)nthreads;
    return calloc(1, sizeof(struct state));
}

static void teardown(void *p) { free(p); }

static void waiter(struct word *x, atomic_int *stopping, struct torture_worker *w)
{
    uint32_t e = atomic_load(seq_of(x));
    uint32_t r = torture_below(w, 20);
    int64_t timeout = r == 0 ? 0 : r < 15 ? 1 + torture_below(w, 3000000)
                           : r < 18 ? CT_MS(50) : CT_FOREVER;
    /* stop() raises `stopping` before it bumps the words (both seq_cst): a
     * waiter that loaded a value from after that bump sees it and does not
     * sleep forever; one that loaded an older value is woken by the bump. */
    if (timeout == CT_FOREVER && atomic_load(stopping))
        timeout = CT_MS(1);
    torture_begin(w, timeout == CT_FOREVER ? "ct_wait(forever)" : "ct_wait");
    int64_t t0 = torture_now();
    int rc = ct_wait(&x->seq, e, timeout);
    int64_t t1 = torture_now();
    torture_end(w);
    if (rc == CT_OK) {
        w->counts[C_WOKEN]++;
        return;
    }
    if (rc != CT_ETIMEDOUT || timeout == CT_FOREVER) {
        torture_fail(w, "ct_wait(%lld) returned %s", (long long)timeout, ct_strerror(rc));
        return;
    }
    w->counts[C_TIMEOUTS]++;
    torture_check_not_early(w, "ct_wait", timeout, t1 - t0);
    uint32_t ws = atomic_load_explicit(&x->woken_seq, memory_order_acquire);
    if ((int32_t)(ws - e) > 0) {
        int64_t at = atomic_load_explicit(&x->woken_at, memory_order_relaxed);
        if (at < t0)
            at = t0;               /* the wait started after that wake */
        if (t1 - at > torture_wake_bound() && t0 + timeout - at > torture_wake_bound())
            torture_fail(w, "lost wake-up: slept on %u, the wake for %u completed %.3f s "
                         "before the timeout", e, ws, (double)(t1 - at) / 1e9);
    }
}

static void waker(struct word *x, struct torture_worker *w)
{
    int zero = 0;
    if (!atomic_compare_exchange_strong(&x->waker, &zero, 1))
        return;
    torture_begin(w, "wake");
    uint32_t v = atomic_fetch_add_explicit(seq_of(x), 1, memory_order_release) + 1;
    if (torture_below(w, 4) == 0)
        ct_wake_one(&x->seq);      /* an extra, partial wake first */
    ct_wake_all(&x->seq);
    atomic_store_explicit(&x->woken_at, torture_now(), memory_order_relaxed);
    atomic_store_explicit(&x->woken_seq, v, memory_order_release);
    atomic_store(&x->waker, 0);
    torture_end(w);
    w->counts[C_WAKES]++;
}

static void step(void *p, struct torture_worker *w)
{
    struct state *s = p;
    struct word *x = &s->w[torture_below(w, WORDS)];
    uint32_t r = torture_below(w, 100);

    torture_delay(w);
    if (r < 60) {
        waiter(x, &s->stopping, w);
    } else if (r < 90) {
        waker(x, w);
    } else if (r < 97) {
        /* A value the word does not hold: returns CT_OK without sleeping
         * (the word may change meanwhile, which only makes it more so). */
        uint32_t e = atomic_load(seq_of(x)) - 0x40000000u;
        torture_begin(w, "ct_wait(mismatch)");
        int rc = ct_wait(&x->seq, e, CT_SEC(60));
        torture_end(w);
        if (rc != CT_OK)
            torture_fail(w, "ct_wait on a stale value returned %s", ct_strerror(rc));
        w->counts[C_MISMATCH]++;
    } else {
        int want;
        int64_t t = torture_bad_timeout(w, &want);
        uint32_t mine = 0;
        int rc = ct_wait(&mine, 0, t);
        if (rc != want)
            torture_fail(w, "ct_wait(timeout %lld) returned %s", (long long)t, ct_strerror(rc));
        w->counts[C_BAD_ARGS]++;
    }
}

/* Round end: wake every sleeper of every word, CT_FOREVER ones included. */
static void stop(void *p)
{
    struct state *s = p;
    atomic_store(&s->stopping, 1);
    for (int k = 0; k < WORDS; k++) {
        atomic_fetch_add(seq_of(&s->w[k]), 1);
        ct_wake_all(&s->w[k].seq);
    }
}

static void quiesce(void *p, struct torture_worker *ws, int nthreads)
{
    struct state *s = p;
    (void)ws;
    (void)nthreads;
    atomic_store(&s->stopping, 0);
}

const struct torture_prim torture_wait = {
    .name = "wait",
    .invariants = "no lost wake-up (untimed waiters woken at the round end), timed waits "
                  "never early, stale value returns at once, bad timeouts rejected",
    .count_names = names,
    .setup = setup,
    .step = step,
    .quiesce = quiesce,
    .stop = stop,
    .teardown = teardown,
};
