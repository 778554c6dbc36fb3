/* Torture: Timer.
 *
 * Each step starts 1-4 timers (nodes on the worker's stack) with short
 * intervals (0 to 3 ms), cancels some of them at a random moment — racing
 * the deadline — and joins them all (CT_FOREVER, or polling with short
 * timeouts); sometimes it restarts a finished timer and does it again.  Each
 * callback records that it ran, when, and tries to join its own timer.
 *
 * Invariants:
 *   - exactly one of "ran" and "cancel returned true" per start;
 *   - a callback never runs before its interval has passed;
 *   - after a CT_OK join the timer is not alive and the callback's writes are
 *     visible; a join that times out waited at least its timeout;
 *   - cancel of a cancelled timer is true again, of a timer that ran false;
 *   - a callback joining its own timer gets CT_EDEADLK;
 *   - bad intervals / timeouts are rejected, nothing changes;
 *   - no lost wake-up: every join returns (the driver's hang check).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "torture.h"

#define PER_STEP 4

enum { C_STARTS, C_RAN, C_CANCELLED, C_JOIN_POLLS, C_RESTARTS, C_BAD_ARGS };
static const char *const names[] = { "starts", "ran", "cancelled", "join_polls", "restarts",
                                     "bad_args", NULL };

struct rec {
    ct_timer_t t;
    atomic_int ran;
    _Atomic int64_t ran_at;
    atomic_int self_join;          /* the callback's ct_timer_join(own timer, 0) */
    int64_t started_at, interval;
};

static void *setup(int nthreads)
{
    (void)nthreads;
    return calloc(1, 1);
}

static void teardown(void *p) { free(p); }

static void callback(void *p)
{
    struct rec *r = p;
    atomic_store(&r->ran_at, torture_now());
    atomic_store(&r->self_join, ct_timer_join(&r->t, 0));
    atomic_fetch_add(&r->ran, 1);
}

static int start(struct rec *r, struct torture_worker *w)
{
    uint32_t k = torture_below(w, 10);
    r->interval = k < 2 ? 0 : k < 7 ? (int64_t)torture_below(w, 500000)
                                    : CT_MS(1) + torture_below(w, 2000000);
    atomic_store(&r->ran, 0);
    atomic_store(&r->self_join, 99);
    r->started_at = torture_now();
    int rc = ct_timer_start(&r->t, r->interval, callback, r);
    if (rc == CT_OK) {
        w->counts[C_STARTS]++;
        if (r->interval > CT_MS(1) && torture_below(w, 4) == 0 && ct_timer_cancel(&r->t)) {
            /* That cancel was real (the timer will not run): start it again. */
            r->started_at = torture_now();
            if ((rc = ct_timer_start(&r->t, r->interval, callback, r)) != CT_OK)
                torture_fail(w, "restart after cancel returned %s", ct_strerror(rc));
        }
    } else if (rc != CT_EAGAIN && rc != CT_ENOMEM) {
        torture_fail(w, "timer_start(%lld) returned %s", (long long)r->interval, ct_strerror(rc));
    }
    return rc;
}

/* Joins r and checks exactly one of ran / cancelled. */
static void finish(struct rec *r, bool cancelled, struct torture_worker *w)
{
    int rc;
    torture_begin(w, "timer_join");
    if (torture_below(w, 2)) {
        rc = ct_timer_join(&r->t, CT_FOREVER);
    } else {
        for (;;) {
            int64_t t = 1 + torture_below(w, 300000);
            int64_t t0 = torture_now();
            rc = ct_timer_join(&r->t, t);
            if (rc != CT_ETIMEDOUT)
                break;
            torture_check_not_early(w, "ct_timer_join", t, torture_now() - t0);
            w->counts[C_JOIN_POLLS]++;
        }
    }
    torture_end(w);
    if (rc != CT_OK) {
        torture_fail(w, "timer_join returned %s", ct_strerror(rc));
        return;
    }
    if (ct_timer_is_alive(&r->t))
        torture_fail(w, "alive after a CT_OK join");
    int ran = atomic_load(&r->ran);
    if (ran + (cancelled ? 1 : 0) != 1)
        torture_fail(w, "ran %d time(s) and cancel returned %s (interval %lld ns)", ran,
                     cancelled ? "true" : "false", (long long)r->interval);
    if (ran) {
        int64_t at = atomic_load(&r->ran_at);
        if (at - r->started_at < r->interval)
            torture_fail(w, "callback ran %lld ns after start, interval %lld ns",
                         (long long)(at - r->started_at), (long long)r->interval);
        if (atomic_load(&r->self_join) != CT_EDEADLK)
            torture_fail(w, "join from its own callback returned %s",
                         ct_strerror(atomic_load(&r->self_join)));
        if (ct_timer_cancel(&r->t))
            torture_fail(w, "cancel after the callback ran returned true");
        w->counts[C_RAN]++;
    } else {
        if (!ct_timer_cancel(&r->t))
            torture_fail(w, "second cancel of a cancelled timer returned false");
        w->counts[C_CANCELLED]++;
    }
}

static void step(void *p, struct torture_worker *w)
{
    struct rec recs[PER_STEP];
    bool cancelled[PER_STEP] = { false };
    bool started[PER_STEP] = { false };
    int n = 1 + (int)torture_below(w, PER_STEP);
    (void)p;

    memset(recs, 0, sizeof recs);
    torture_delay(w);
    if (torture_below(w, 10) == 0) {
        int want;
        int64_t t = torture_bad_timeout(w, &want);
        int a = ct_timer_start(&recs[0].t, t, callback, &recs[0]);
        int b = ct_timer_join(&recs[0].t, t);
        if (a != want || b != want || ct_timer_is_alive(&recs[0].t))
            torture_fail(w, "bad interval/timeout %lld: start %s join %s", (long long)t,
                         ct_strerror(a), ct_strerror(b));
        w->counts[C_BAD_ARGS]++;
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < n; i++) {
            started[i] = start(&recs[i], w) == CT_OK;
            cancelled[i] = false;
        }
        for (int i = 0; i < n; i++) {
            if (!started[i])
                continue;
            if (torture_below(w, 2)) {
                torture_delay(w);
                cancelled[i] = ct_timer_cancel(&recs[i].t);
            }
        }
        for (int i = 0; i < n; i++)
            if (started[i])
                finish(&recs[i], cancelled[i], w);
        if (torture_below(w, 4) != 0)
            break;
        w->counts[C_RESTARTS]++;   /* the same nodes, started again */
    }
}

const struct torture_prim torture_timer = {
    .name = "timer",
    .invariants = "exactly one of ran / cancelled, never early, join returns (EDEADLK from "
                  "its own callback), cancel idempotent, bad args rejected",
    .count_names = names,
    .setup = setup,
    .step = step,
    .quiesce = NULL,
    .teardown = teardown,
};
