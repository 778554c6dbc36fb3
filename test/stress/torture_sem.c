/* Torture: Semaphore and BoundedSemaphore.
 *
 * Two semaphores: an unbounded one with PERMITS permits and a bounded one
 * with BOUND.  Each step takes one permit of either (blocking, try, or timed
 * with a random timeout from 0 to a few ms, or CT_FOREVER), sometimes a
 * second one with a try, holds them through a random delay and gives them
 * back with one ct_sem_release(n) — itself, or by handing the release to
 * whichever worker looks at the mailbox first (a semaphore is not owned).
 *
 * Invariants:
 *   - holders never above permits: a holders counter, raised after every
 *     successful acquire and lowered before the release, never exceeds the
 *     initial value;
 *   - the bounded semaphore never goes above its bound: ct_sem_value never
 *     reads more than BOUND, and a release that would exceed it (n larger
 *     than what can be outstanding) is CT_EOVERFLOW with nothing released;
 *   - bad arguments (n < 1, bad timeouts) are rejected, nothing changes;
 *   - timed acquires that time out waited at least their timeout (signals);
 *   - no lost wake-up: at each round end every blocked acquirer gets through
 *     within the bound (the driver checks it);
 *   - at rest both values are back to their initial values, and a release
 *     of the full bounded semaphore is CT_EOVERFLOW.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

#include "torture.h"

#define PERMITS 3
#define BOUND 4

enum { C_BLOCKING, C_TRY, C_TRY_BUSY, C_TIMED, C_TIMEOUTS, C_DOUBLE, C_HANDOFF, C_OVERFLOW,
       C_BAD_ARGS };
static const char *const names[] = { "acquire", "try", "try_busy", "timed", "timeouts",
                                     "double", "handoff", "overflow", "bad_args", NULL };

struct sem {
    ct_sem_t s;
    int64_t initial;
    atomic_long holders;           /* permits held right now */
    atomic_long mailbox;           /* permits handed over for release, 0 if none */
};

struct state { struct sem sem[2]; };   /* [0] unbounded, [1] bounded */

static void *setup(int nthreads)
{
    struct state *s = calloc(1, sizeof *s);
    (void)nthreads;
    ct_sem_init(&s->sem[0].s, PERMITS);
    s->sem[0].initial = PERMITS;
    ct_sem_init_bounded(&s->sem[1].s, BOUND);
    s->sem[1].initial = BOUND;
    return s;
}

static void teardown(void *p) { free(p); }

static void release(struct sem *m, struct torture_worker *w, long n)
{
    atomic_fetch_sub(&m->holders, n);
    int rc = ct_sem_release(&m->s, n);
    if (rc != CT_OK)
        torture_fail(w, "release(%ld) of held permits returned %s", n, ct_strerror(rc));
}

static void serve_mailbox(struct sem *m, struct torture_worker *w)
{
    long n = atomic_exchange(&m->mailbox, 0);
    if (n > 0) {
        torture_begin(w, "sem_release(for another thread)");
        release(m, w, n);
        torture_end(w);
    }
}

static void check_value(struct sem *m, struct torture_worker *w)
{
    int64_t v = ct_sem_value(&m->s);
    if (v < 0 || v > m->initial)
        torture_fail(w, "value %lld outside [0, %lld]", (long long)v, (long long)m->initial);
}

static void took(struct sem *m, struct torture_worker *w)
{
    long h = atomic_fetch_add(&m->holders, 1) + 1;
    if (h > m->initial)
        torture_fail(w, "%ld holders of %lld permits", h, (long long)m->initial);
}

static void step(void *p, struct torture_worker *w)
{
    struct state *s = p;
    struct sem *m = &s->sem[torture_below(w, 2)];
    uint32_t how = torture_below(w, 100);
    long held = 0;

    serve_mailbox(m, w);
    torture_delay(w);
    check_value(m, w);
    if (how < 30) {
        torture_begin(w, "sem_acquire");
        int rc = ct_sem_acquire(&m->s);
        if (rc != CT_OK)
            torture_fail(w, "sem_acquire returned %s", ct_strerror(rc));
        held = 1;
        w->counts[C_BLOCKING]++;
    } else if (how < 55) {
        torture_begin(w, "sem_try_acquire");
        held = ct_sem_try_acquire(&m->s);
        w->counts[held ? C_TRY : C_TRY_BUSY]++;
    } else if (how < 92) {
        int64_t timeout;
        uint32_t r = torture_below(w, 10);
        if (r == 0)
            timeout = 0;
        else if (r == 1)
            timeout = CT_FOREVER;
        else if (r < 8)
            timeout = 1 + torture_below(w, 200000);
        else
            timeout = CT_MS(1) + torture_below(w, 4000000);
        torture_begin(w, "sem_acquire_timed");
        int64_t t0 = torture_now();
        int rc = ct_sem_acquire_timed(&m->s, timeout);
        int64_t t = torture_now() - t0;
        if (torture_timed_acquired(w, "ct_sem_acquire_timed", timeout, rc, t,
                                   &w->counts[C_TIMEOUTS])) {
            held = 1;
            w->counts[C_TIMED]++;
        }
    } else {
        int want;
        int64_t t = torture_bad_timeout(w, &want);
        torture_begin(w, "sem bad args");
        int rc = ct_sem_acquire_timed(&m->s, t);
        if (rc != want)
            torture_fail(w, "sem_acquire_timed(%lld) returned %s", (long long)t, ct_strerror(rc));
        int64_t n = torture_below(w, 2) ? 0 : -1 - (int64_t)torture_below(w, 100);
        if ((rc = ct_sem_release(&m->s, n)) != CT_EINVAL)
            torture_fail(w, "sem_release(%lld) returned %s", (long long)n, ct_strerror(rc));
        w->counts[C_BAD_ARGS]++;
    }
    torture_end(w);
    if (!held)
        return;
    took(m, w);
    if (torture_below(w, 4) == 0 && ct_sem_try_acquire(&m->s)) {
        took(m, w);
        held++;
        w->counts[C_DOUBLE]++;
    }
    torture_delay(w);
    check_value(m, w);
    if (m == &s->sem[1] && torture_below(w, 8) == 0) {
        /* Whatever the others hold, more than BOUND in one call must
         * overflow (the tight edge is checked at rest). */
        int64_t n = BOUND + 1 + (int64_t)torture_below(w, 3);
        int64_t before = ct_sem_value(&m->s);
        int rc = ct_sem_release(&m->s, n);
        if (rc != CT_EOVERFLOW)
            torture_fail(w, "bounded release(%lld) holding %ld returned %s", (long long)n,
                         held, ct_strerror(rc));
        if (before + held > BOUND)
            torture_fail(w, "value %lld + %ld held > bound %d", (long long)before, held, BOUND);
        w->counts[C_OVERFLOW]++;
    }
    if (torture_below(w, 20) == 0 && w->nthreads > 1) {
        long zero = 0;
        if (atomic_compare_exchange_strong(&m->mailbox, &zero, held)) {
            w->counts[C_HANDOFF]++;
            torture_delay(w);
            serve_mailbox(m, w);       /* unless someone else did */
            return;
        }
    }
    torture_begin(w, "sem_release");
    release(m, w, held);
    torture_end(w);
}

static void quiesce(void *p, struct torture_worker *ws, int nthreads)
{
    struct state *s = p;
    (void)nthreads;
    for (int k = 0; k < 2; k++) {
        struct sem *m = &s->sem[k];
        if (atomic_load(&m->mailbox) != 0 || atomic_load(&m->holders) != 0)
            torture_fail(&ws[0], "sem %d at rest: mailbox %ld holders %ld", k,
                         atomic_load(&m->mailbox), atomic_load(&m->holders));
        if (ct_sem_value(&m->s) != m->initial)
            torture_fail(&ws[0], "sem %d at rest: value %lld, initial %lld", k,
                         (long long)ct_sem_value(&m->s), (long long)m->initial);
    }
    /* The tight edges: one over the bound is refused, exactly up to it is not. */
    ct_sem_t *b = &s->sem[1].s;
    int rc = ct_sem_release(b, 1);
    if (rc != CT_EOVERFLOW || ct_sem_value(b) != BOUND)
        torture_fail(&ws[0], "release of a full bounded semaphore: %s, value %lld",
                     ct_strerror(rc), (long long)ct_sem_value(b));
    if (!ct_sem_try_acquire(b) || !ct_sem_try_acquire(b)) {
        torture_fail(&ws[0], "bounded semaphore at rest: try_acquire failed");
        return;
    }
    int rc3 = ct_sem_release(b, 3), rc2 = ct_sem_release(b, 2);
    if (rc3 != CT_EOVERFLOW || rc2 != CT_OK || ct_sem_value(b) != BOUND)
        torture_fail(&ws[0], "bounded at %d-2: release(3) %s, release(2) %s, value %lld",
                     BOUND, ct_strerror(rc3), ct_strerror(rc2), (long long)ct_sem_value(b));
}

const struct torture_prim torture_sem = {
    .name = "sem",
    .invariants = "holders never above permits, bounded never above its bound (overflow "
                  "refused), bad args rejected, timed never early, no lost wake-up",
    .count_names = names,
    .setup = setup,
    .step = step,
    .quiesce = quiesce,
    .teardown = teardown,
};
