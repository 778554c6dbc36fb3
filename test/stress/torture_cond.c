/* Torture: Condition.
 *
 * Three conditions: one bound to a Lock, one with its own RLock
 * (CT_COND_INIT), one bound to an external RLock and used through
 * ct_cond_wait_for.  Beside each condition the test keeps its own model of
 * the waiter queue, updated under the same lock: a waiter appends itself
 * right before ct_cond_wait_timed, a notifier pops from the front as many
 * waiters as ct_cond_notify says it woke and marks them notified, and a
 * waiter that times out removes itself after the wait (the condition, too,
 * dequeues a timed-out waiter only once it has the lock back).
 *
 * Invariants:
 *   - exactly min(n, waiting) woken: every notify returns exactly that;
 *   - delivered exactly once, oldest first, no spurious wake-up: a waiter
 *     returns CT_OK iff the model marked it notified (a CT_ETIMEDOUT for a
 *     marked waiter is a lost notification, a CT_OK for an unmarked one is
 *     spurious or out of order); at rest, notifications == CT_OK returns;
 *   - no lost wake-up: a notified waiter is back (lock re-taken) within the
 *     bound; at each round end the driver notifies all and every waiter,
 *     including those waiting with CT_FOREVER, must check in;
 *   - timed waits that time out waited at least their timeout (signals);
 *   - the lock is held again after every wait, with the same RLock depth;
 *   - CT_EPERM for wait / notify / release by a non-owner of an RLock;
 *   - wait_for returns CT_OK only when its predicate holds.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "torture.h"

#define MAXW 256

enum { C_WAITS, C_NOTIFIED, C_TIMEOUTS, C_NOTIFY_CALLS, C_WAKES, C_WAIT_FOR, C_EPERM, C_TOKENS };
static const char *const names[] = { "waits", "notified", "timeouts", "notify_calls", "woken",
                                     "wait_for", "eperm", "tokens", NULL };

enum { K_LOCK, K_OWN, K_FOR, NCOND };

struct cv {
    ct_cond_t c;
    /* The model, guarded by the condition's lock. */
    int queue[MAXW];               /* worker ids, oldest first */
    int qlen;
    bool marked[MAXW];             /* a notify chose this worker */
    int64_t marked_at[MAXW];
    uint64_t notified, ok_returns;
    bool stopping;                 /* set by stop(): nobody starts waiting */
    long tokens;                   /* K_FOR: the predicate's state */
};

struct state {
    ct_lock_t lock;                /* bound to cv[K_LOCK] */
    ct_rlock_t rlock;              /* bound to cv[K_FOR] */
    struct cv cv[NCOND];
    char stop_failure[200];        /* set by stop(), reported by quiesce() */
};

static void *setup(int nthreads)
{
    struct state *s = calloc(1, sizeof *s);
    (void)nthreads;
    ct_cond_init(&s->cv[K_LOCK].c, &s->lock);
    /* cv[K_OWN].c stays zeroed: its own RLock. */
    ct_cond_init_rlock(&s->cv[K_FOR].c, &s->rlock);
    return s;
}

static void teardown(void *p) { free(p); }

static int64_t random_timeout(struct torture_worker *w)
{
    uint32_t r = torture_below(w, 10);
    if (r == 0)
        return 0;
    if (r < 3)
        return CT_FOREVER;
    if (r < 8)
        return 1 + torture_below(w, 3000000);         /* up to 3 ms */
    return CT_MS(20) + torture_below(w, 30000000);    /* 20-50 ms */
}

static void model_remove(struct cv *v, int id)
{
    for (int i = 0; i < v->qlen; i++) {
        if (v->queue[i] == id) {
            memmove(&v->queue[i], &v->queue[i + 1], (size_t)(v->qlen - i - 1) * sizeof(int));
            v->qlen--;
            return;
        }
    }
}

/* Pops r waiters (the notify woke them) and marks them. */
static bool model_notified(struct cv *v, int r)
{
    int64_t now = torture_now();
    if (r < 0 || r > v->qlen)
        return false;
    for (int i = 0; i < r; i++) {
        v->marked[v->queue[i]] = true;
        v->marked_at[v->queue[i]] = now;
    }
    memmove(&v->queue[0], &v->queue[r], (size_t)(v->qlen - r) * sizeof(int));
    v->qlen -= r;
    v->notified += (uint64_t)r;
    return true;
}

static void waiter(struct state *s, struct cv *v, struct torture_worker *w, bool rlock)
{
    unsigned depth = 1;
    int rc, me = w->id;

    torture_begin(w, "cond_acquire");
    if ((rc = ct_cond_acquire(&v->c)) != CT_OK) {
        torture_fail(w, "cond_acquire returned %s", ct_strerror(rc));
        return;
    }
    if (rlock && torture_below(w, 2)) {
        (void)ct_cond_acquire(&v->c);          /* wait must release both levels */
        depth = 2;
    }
    torture_end(w);
    if (!v->stopping) {
        int64_t timeout = random_timeout(w);
        v->queue[v->qlen++] = me;
        v->marked[me] = false;
        torture_begin(w, timeout == CT_FOREVER ? "cond_wait(forever)" : "cond_wait_timed");
        int64_t t0 = torture_now();
        rc = timeout == CT_FOREVER && torture_below(w, 2) ? ct_cond_wait(&v->c)
                                                          : ct_cond_wait_timed(&v->c, timeout);
        int64_t t1 = torture_now();
        torture_end(w);
        w->counts[C_WAITS]++;
        if (!ct_cond_is_owned(&v->c))
            torture_fail(w, "lock not held after the wait returned %s", ct_strerror(rc));
        if (rlock && ct_rlock_count(v == &s->cv[K_OWN] ? &v->c.u.own : &s->rlock) != depth)
            torture_fail(w, "RLock depth not restored to %u after the wait", depth);
        if (rc == CT_OK) {
            if (!v->marked[me])
                torture_fail(w, "CT_OK without a notification (spurious or out of order)");
            else if (t1 - v->marked_at[me] > torture_wake_bound())
                torture_fail(w, "notified waiter came back %.3f s after the notify",
                             (double)(t1 - v->marked_at[me]) / 1e9);
            v->marked[me] = false;
            v->ok_returns++;
            w->counts[C_NOTIFIED]++;
        } else if (rc == CT_ETIMEDOUT && timeout != CT_FOREVER) {
            if (v->marked[me])
                torture_fail(w, "CT_ETIMEDOUT although a notify chose this waiter (lost)");
            v->marked[me] = false;
            model_remove(v, me);
            torture_check_not_early(w, "ct_cond_wait_timed", timeout, t1 - t0);
            w->counts[C_TIMEOUTS]++;
        } else {
            torture_fail(w, "cond_wait_timed(%lld) returned %s", (long long)timeout,
                         ct_strerror(rc));
            model_remove(v, me);
        }
    }
    torture_delay(w);
    while (depth-- > 0) {
        if ((rc = ct_cond_release(&v->c)) != CT_OK)
            torture_fail(w, "cond_release returned %s", ct_strerror(rc));
    }
}

static void notifier(struct cv *v, struct torture_worker *w)
{
    int rc;
    torture_begin(w, "cond_acquire(notifier)");
    (void)ct_cond_acquire(&v->c);
    torture_end(w);
    torture_delay(w);
    int qlen = v->qlen, want, got;
    if (torture_below(w, 8) == 0) {
        got = ct_cond_notify_all(&v->c);
        want = qlen;
    } else {
        unsigned n = torture_below(w, 4);
        got = ct_cond_notify(&v->c, n);
        want = (int)n < qlen ? (int)n : qlen;
    }
    w->counts[C_NOTIFY_CALLS]++;
    if (got != want || !model_notified(v, got))
        torture_fail(w, "notify woke %d with %d waiting, want %d", got, qlen, want);
    else
        w->counts[C_WAKES] += (uint64_t)got;
    if ((rc = ct_cond_release(&v->c)) != CT_OK)
        torture_fail(w, "cond_release returned %s", ct_strerror(rc));
}

static bool have_token(void *p)
{
    struct cv *v = p;
    return v->tokens > 0 || v->stopping;
}

/* cv[K_FOR]: producers add a token and notify one; consumers wait_for one. */
static void token_step(struct cv *v, struct torture_worker *w)
{
    int rc;
    torture_begin(w, "cond_acquire(tokens)");
    (void)ct_cond_acquire(&v->c);
    torture_end(w);
    if (torture_below(w, 2)) {
        v->tokens++;
        if ((rc = ct_cond_notify(&v->c, 1)) < 0)
            torture_fail(w, "notify(1) returned %s", ct_strerror(rc));
        w->counts[C_TOKENS]++;
    } else {
        int64_t timeout = random_timeout(w);
        torture_begin(w, "cond_wait_for");
        int64_t t0 = torture_now();
        rc = ct_cond_wait_for(&v->c, have_token, v, timeout);
        int64_t took = torture_now() - t0;
        torture_end(w);
        w->counts[C_WAIT_FOR]++;
        if (rc == CT_OK) {
            if (!have_token(v))
                torture_fail(w, "wait_for returned CT_OK with the predicate false");
            else if (v->tokens > 0)
                v->tokens--;
        } else if (rc == CT_ETIMEDOUT && timeout != CT_FOREVER) {
            if (have_token(v))
                torture_fail(w, "wait_for timed out with the predicate true");
            torture_check_not_early(w, "ct_cond_wait_for", timeout, took);
        } else {
            torture_fail(w, "wait_for(%lld) returned %s", (long long)timeout, ct_strerror(rc));
        }
    }
    if ((rc = ct_cond_release(&v->c)) != CT_OK)
        torture_fail(w, "cond_release returned %s", ct_strerror(rc));
}

/* An RLock-bound condition the caller does not own: everything is EPERM. */
static void not_owner(struct cv *v, struct torture_worker *w)
{
    int a = ct_cond_wait_timed(&v->c, CT_MS(1)), b = ct_cond_notify(&v->c, 1),
        c = ct_cond_notify_all(&v->c), d = ct_cond_release(&v->c),
        e = ct_cond_wait_for(&v->c, have_token, v, 0);
    if (a != CT_EPERM || b != CT_EPERM || c != CT_EPERM || d != CT_EPERM || e != CT_EPERM)
        torture_fail(w, "non-owner: wait %s notify %s notify_all %s release %s wait_for %s",
                     ct_strerror(a), ct_strerror(b), ct_strerror(c), ct_strerror(d),
                     ct_strerror(e));
    w->counts[C_EPERM]++;
}

static void step(void *p, struct torture_worker *w)
{
    struct state *s = p;
    uint32_t r = torture_below(w, 100);

    torture_delay(w);
    if (r < 70) {
        int k = (int)torture_below(w, 2);  /* K_LOCK or K_OWN */
        if (r < 42)
            waiter(s, &s->cv[k], w, k == K_OWN);
        else
            notifier(&s->cv[k], w);
    } else if (r < 96) {
        token_step(&s->cv[K_FOR], w);
    } else {
        not_owner(&s->cv[torture_below(w, 2) ? K_OWN : K_FOR], w);
    }
}

static void stop(void *p)
{
    struct state *s = p;
    for (int k = 0; k < NCOND; k++) {
        struct cv *v = &s->cv[k];
        (void)ct_cond_acquire(&v->c);
        v->stopping = true;
        int qlen = v->qlen, got = ct_cond_notify_all(&v->c);
        if (k != K_FOR && (got != qlen || !model_notified(v, got)) && !s->stop_failure[0])
            snprintf(s->stop_failure, sizeof s->stop_failure,
                     "round end: notify_all on cond %d woke %d of %d waiting", k, got, qlen);
        (void)ct_cond_release(&v->c);
    }
}

static void quiesce(void *p, struct torture_worker *ws, int nthreads)
{
    struct state *s = p;
    (void)nthreads;
    if (s->stop_failure[0]) {
        torture_fail(&ws[0], "%s", s->stop_failure);
        s->stop_failure[0] = 0;
    }
    for (int k = 0; k < NCOND; k++) {
        struct cv *v = &s->cv[k];
        if (v->qlen != 0)
            torture_fail(&ws[0], "cond %d: %d waiters left in the model at rest", k, v->qlen);
        if (v->notified != v->ok_returns)
            torture_fail(&ws[0], "cond %d: %llu notifications but %llu CT_OK returns", k,
                         (unsigned long long)v->notified, (unsigned long long)v->ok_returns);
        if (ct_cond_is_owned(&v->c) && k != K_LOCK)
            torture_fail(&ws[0], "cond %d: lock owned at rest", k);
        v->stopping = false;
        v->tokens = 0;
    }
    if (ct_lock_locked(&s->lock))
        torture_fail(&ws[0], "the condition's Lock is locked at rest");
}

const struct torture_prim torture_cond = {
    .name = "cond",
    .invariants = "notify wakes exactly min(n, waiting), oldest first, each delivered once, "
                  "no spurious/lost wake-up, timed never early, lock restored, EPERM",
    .count_names = names,
    .setup = setup,
    .step = step,
    .quiesce = quiesce,
    .stop = stop,
    .teardown = teardown,
};
