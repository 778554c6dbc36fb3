/* libFuzzer target: Condition on one thread (plus short-lived helpers), against
 * a model of its lock.
 *
 * Three conditions: bound to a Lock, with its own RLock, bound to an external
 * RLock.  Model: whether the Lock is locked / the caller's RLock depth.  With
 * no other thread notifying: a wait by the holder times out (not early; long
 * waits become short) and re-takes the lock exactly as it was (the same RLock
 * depth); a wait, wait_for, notify or notify_all without holding the lock is
 * CT_EPERM, a helper thread that does not own the RLock gets CT_EPERM too;
 * notify(n) / notify_all wake 0; bad timeouts are rejected without releasing
 * anything (when the lock is not held either code is accepted); wait_for
 * returns CT_OK exactly when its predicate's last call returned true, and
 * calls it at most twice (at entry, and once when the time is up).
 *
 * With real waiters (op 12, when this thread does not hold the lock): 1-4
 * threads enter ct_cond_wait one at a time (the next starts once this thread
 * could take the lock, i.e. once the previous one is queued and released it);
 * notify(k) returns min(k, waiting) and wakes exactly the k oldest (the
 * threads that come back are those, checked before the next notify), each
 * returns CT_OK with the lock held; notify_all wakes the rest.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz_input.h"

enum { K_LOCK, K_OWN, K_RLOCK, NCOND };

struct pred { int calls, true_from; };

static bool pred_fn(void *p)
{
    struct pred *q = p;
    return ++q->calls > q->true_from;
}

struct helper { ct_cond_t *c; int rc[3]; };

static void helper_main(void *p)
{
    struct helper *h = p;
    h->rc[0] = ct_cond_notify(h->c, 1);
    h->rc[1] = ct_cond_wait_timed(h->c, 0);
    h->rc[2] = ct_cond_release(h->c);
}

static bool held(const unsigned *depth, int k) { return depth[k] > 0; }

/* ---- real waiters: FIFO order ----------------------------------------------- */
#define MAXWAITERS 4

struct queue_test {
    ct_cond_t *c;
    atomic_int queued;             /* ids that are about to wait */
    atomic_int back;               /* waiters that returned */
    atomic_int back_mask;          /* which ones */
    int rc[MAXWAITERS];
    int owned_after[MAXWAITERS];
};

struct queue_arg { struct queue_test *q; int id; };

static void queue_waiter(void *p)
{
    struct queue_arg *a = p;
    struct queue_test *q = a->q;
    (void)ct_cond_acquire(q->c);
    atomic_fetch_add(&q->queued, 1);
    q->rc[a->id] = ct_cond_wait_timed(q->c, CT_SEC(10));
    q->owned_after[a->id] = ct_cond_is_owned(q->c);
    atomic_fetch_or(&q->back_mask, 1 << a->id);
    atomic_fetch_add(&q->back, 1);
    (void)ct_cond_release(q->c);
}

static void await_at_least(atomic_int *v, int want)
{
    int64_t end = ct__now_ns() + CT_SEC(10);
    while (atomic_load(v) < want && ct__now_ns() < end)
        (void)ct_wait(&(uint32_t){0}, 0, CT_US(20));
    FUZZ_CHECK(atomic_load(v) >= want, "%d of %d waiters after 10 s", atomic_load(v), want);
}

static void fifo_waiters(struct fuzz_in *in, ct_cond_t *cv)
{
    struct queue_test q = { .c = cv };
    struct queue_arg args[MAXWAITERS];
    ct_thread_t t[MAXWAITERS];
    int n = 0, want = 1 + fuzz_u8(in) % MAXWAITERS;

    for (int i = 0; i < want; i++) {
        args[i] = (struct queue_arg){ &q, i };
        if (ct_thread_start(&t[i], queue_waiter, &args[i]) != CT_OK)
            break;
        n++;
        await_at_least(&q.queued, i + 1);
        /* It holds the lock until it is queued in its wait. */
        FUZZ_EXPECT_RC(ct_cond_acquire(cv), CT_OK, "acquire behind a waiter");
        FUZZ_EXPECT_RC(ct_cond_release(cv), CT_OK, "release");
    }
    for (int woken = 0; woken < n;) {
        unsigned k = fuzz_u8(in) % 4;
        bool all = k == 3;
        FUZZ_EXPECT_RC(ct_cond_acquire(cv), CT_OK, "acquire to notify");
        int got = all ? ct_cond_notify_all(cv) : ct_cond_notify(cv, k);
        int expect = all || (int)k > n - woken ? n - woken : (int)k;
        FUZZ_CHECK(got == expect, "notify(%s) woke %d of %d waiting, want %d",
                   all ? "all" : "k", got, n - woken, expect);
        FUZZ_EXPECT_RC(ct_cond_release(cv), CT_OK, "release after notify");
        woken += got;
        await_at_least(&q.back, woken);
        FUZZ_CHECK(atomic_load(&q.back_mask) == (1 << woken) - 1,
                   "after %d wakes in all, waiters back: mask 0x%x (not the oldest first)",
                   woken, atomic_load(&q.back_mask));
        if (in->n == 0 && !all && k == 0)
            break;                  /* out of input: notify_all below */
    }
    if (atomic_load(&q.back) < n) {
        FUZZ_EXPECT_RC(ct_cond_acquire(cv), CT_OK, "acquire to notify the rest");
        FUZZ_CHECK(ct_cond_notify_all(cv) == n - atomic_load(&q.back), "notify_all");
        FUZZ_EXPECT_RC(ct_cond_release(cv), CT_OK, "release");
    }
    for (int i = 0; i < n; i++) {
        FUZZ_CHECK(ct_thread_join(&t[i], CT_SEC(10)) == CT_OK, "waiter %d hung", i);
        FUZZ_EXPECT_RC(q.rc[i], CT_OK, "a notified waiter's wait");
        FUZZ_CHECK(q.owned_after[i], "waiter %d: lock not held after its wait", i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    ct_lock_t lock = CT_LOCK_INIT;
    ct_rlock_t rlock = CT_RLOCK_INIT;
    ct_cond_t c[NCOND];
    unsigned depth[NCOND] = { 0, 0, 0 };   /* K_LOCK: 0 or 1 */

    memset(c, 0, sizeof c);
    ct_cond_init(&c[K_LOCK], &lock);
    ct_cond_init_rlock(&c[K_RLOCK], &rlock);
    for (int steps = 0; in.n > 0 && steps < 96; steps++) {
        uint8_t op = fuzz_u8(&in);
        int k = (op >> 4) % NCOND;
        ct_cond_t *cv = &c[k];
        bool rl = k != K_LOCK;
        switch (op & 15) {
        case 0: case 1:             /* acquire (timed if it would block) */
            if (!rl && depth[k]) {
                FUZZ_EXPECT_RC(ct_cond_acquire_timed(cv, CT_US(5)), CT_ETIMEDOUT,
                               "acquire of a locked Lock");
            } else {
                FUZZ_EXPECT_RC(ct_cond_acquire(cv), CT_OK, "acquire");
                depth[k]++;
            }
            break;
        case 2: {                   /* try */
            bool want = rl || !depth[k];
            FUZZ_CHECK(ct_cond_try_acquire(cv) == want, "try_acquire");
            depth[k] += want;
            break;
        }
        case 3: {                   /* acquire_timed, any timeout */
            int64_t t = fuzz_timeout(&in);
            int want = fuzz_timeout_code(t);
            if (want == CT_OK && !rl && depth[k]) {
                t = fuzz_shorten(t);
                want = CT_ETIMEDOUT;
            }
            FUZZ_EXPECT_RC(ct_cond_acquire_timed(cv, t), want, "acquire_timed");
            depth[k] += want == CT_OK;
            break;
        }
        case 4: case 5:             /* release */
            FUZZ_EXPECT_RC(ct_cond_release(cv), held(depth, k) ? CT_OK : CT_EPERM, "release");
            if (depth[k])
                depth[k]--;
            break;
        case 6: case 7: {           /* wait_timed, any timeout */
            int64_t t = fuzz_timeout(&in);
            int tc = fuzz_timeout_code(t);
            if (tc == CT_OK)
                t = fuzz_shorten(t);
            if (tc == CT_OK && t == CT_FOREVER)
                t = CT_US(20);
            int64_t t0 = ct__now_ns();
            int rc = (op & 15) == 7 && t == CT_FOREVER ? ct_cond_wait(cv)
                                                       : ct_cond_wait_timed(cv, t);
            int64_t took = ct__now_ns() - t0;
            if (!held(depth, k))
                FUZZ_CHECK(rc == CT_EPERM || (tc != CT_OK && rc == tc),
                           "wait without the lock: %s", ct_strerror(rc));
            else
                FUZZ_EXPECT_RC(rc, tc == CT_OK ? CT_ETIMEDOUT : tc, "wait with nobody notifying");
            FUZZ_NOT_EARLY(rc, took, t, "wait_timed");
            break;
        }
        case 8: {                   /* wait_for */
            struct pred q = { 0, fuzz_u8(&in) % 4 };
            int64_t t = fuzz_timeout(&in);
            int tc = fuzz_timeout_code(t);
            if (tc == CT_OK && (t == CT_FOREVER || fuzz_timeout_long(t)))
                t = CT_US(20);
            int rc = ct_cond_wait_for(cv, pred_fn, &q, t);
            if (!held(depth, k)) {
                FUZZ_CHECK(rc == CT_EPERM || (tc != CT_OK && rc == tc),
                           "wait_for without the lock: %s", ct_strerror(rc));
                FUZZ_CHECK(q.calls == 0, "predicate called without the lock");
            } else if (tc != CT_OK) {
                FUZZ_EXPECT_RC(rc, tc, "wait_for with a bad timeout");
                FUZZ_CHECK(q.calls == 0, "predicate called for a bad timeout");
            } else {
                FUZZ_CHECK(q.calls >= 1 && q.calls <= 2, "predicate called %d times", q.calls);
                FUZZ_EXPECT_RC(rc, q.calls > q.true_from ? CT_OK : CT_ETIMEDOUT, "wait_for");
            }
            break;
        }
        case 9: case 10: {          /* notify(n) / notify_all: nobody waits */
            unsigned n = fuzz_u8(&in);
            int rc = (op & 15) == 9 ? ct_cond_notify(cv, n) : ct_cond_notify_all(cv);
            FUZZ_EXPECT_RC(rc, held(depth, k) ? 0 : CT_EPERM, "notify");
            break;
        }
        case 11:                    /* a helper thread that does not own the RLock */
            if (rl) {
                struct helper h = { cv, { 99, 99, 99 } };
                fuzz_in_thread(helper_main, &h);
                FUZZ_CHECK(h.rc[0] == CT_EPERM && h.rc[1] == CT_EPERM && h.rc[2] == CT_EPERM,
                           "non-owner thread: notify %s wait %s release %s",
                           ct_strerror(h.rc[0]), ct_strerror(h.rc[1]), ct_strerror(h.rc[2]));
            }
            break;
        case 12:                    /* real waiters, woken oldest first */
            if (!held(depth, k))
                fifo_waiters(&in, cv);
            break;
        default:
            break;
        }
        FUZZ_CHECK(ct_cond_is_owned(cv) == held(depth, k), "is_owned %d vs model depth %u",
                   ct_cond_is_owned(cv), depth[k]);
        if (k == K_RLOCK)
            FUZZ_CHECK(ct_rlock_count(&rlock) == depth[k], "RLock depth %u vs model %u",
                       ct_rlock_count(&rlock), depth[k]);
        if (k == K_LOCK)
            FUZZ_CHECK(ct_lock_locked(&lock) == (depth[k] > 0), "Lock state vs model");
    }
    return 0;
}
