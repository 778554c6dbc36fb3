/* Condition: every behaviour of CPython's ConditionTests (over the default
 * RLock, over a Lock and over an RLock), FIFO order and exact notify counts,
 * RLock levels restored by wait, wait_for, bad input with the condition
 * unchanged, a bounded-buffer stress and a notify-versus-timeout race that
 * counts every notification as delivered exactly once. */
#include <limits.h>
#include <string.h>
#include "ct_test.h"
#include "helpers.h"
#include "internal/platform.h"

enum kind { DEFAULT, OVER_LOCK, OVER_RLOCK };

/* A condition of the given kind together with the locks it may bind. */
struct fixture {
    ct_cond_t c;
    ct_lock_t lock;
    ct_rlock_t rlock;
};

static void fixture_init(struct fixture *f, enum kind k)
{
    memset(f, 0, sizeof *f);
    if (k == OVER_LOCK)
        ct_cond_init(&f->c, &f->lock);
    else if (k == OVER_RLOCK)
        ct_cond_init_rlock(&f->c, &f->rlock);
    /* DEFAULT: zero is already a valid Condition() */
}

static void pause_briefly(void) { t_pause(CT_US(100)); }

/* Polls *counter under the condition's lock until it reaches target (or 30 s
 * pass); returns the last value seen. */
static int await_count(ct_cond_t *c, const int *counter, int target)
{
    int64_t end = t_now() + CT_SEC(30);
    int v;
    for (;;) {
        ct_cond_acquire(c);
        v = *counter;
        ct_cond_release(c);
        if (v >= target || t_now() > end)
            return v;
        pause_briefly();
    }
}

Test(cond, sizes_and_zero_init)
{
    ct_cond_t z;
    ct_cond_t s = CT_COND_INIT;
    memset(&z, 0, sizeof z);
    cr_assert_leq(sizeof(ct_cond_t), 32u);
    cr_assert_not(ct_cond_is_owned(&z));
    cr_assert_not(ct_cond_is_owned(&s));
    cr_assert_eq(ct_cond_acquire(&s), CT_OK);
    cr_assert(ct_cond_is_owned(&s));
    cr_assert_eq(ct_cond_release(&s), CT_OK);
}

/* CPython's test_acquire. */
Test(cond, acquire_default_is_reentrant_and_lock_is_not)
{
    ct_cond_t c = CT_COND_INIT;
    cr_assert_eq(ct_cond_acquire(&c), CT_OK);
    cr_assert_eq(ct_cond_acquire(&c), CT_OK);
    cr_assert(ct_cond_try_acquire(&c));
    cr_assert_eq(ct_cond_release(&c), CT_OK);
    cr_assert_eq(ct_cond_release(&c), CT_OK);
    cr_assert_eq(ct_cond_release(&c), CT_OK);
    cr_assert_eq(ct_cond_release(&c), CT_EPERM);

    ct_lock_t l = CT_LOCK_INIT;
    ct_cond_init(&c, &l);
    cr_assert_eq(ct_cond_acquire(&c), CT_OK);
    cr_assert_not(ct_lock_try_acquire(&l));
    cr_assert_eq(ct_cond_release(&c), CT_OK);
    cr_assert(ct_lock_try_acquire(&l));
    cr_assert_not(ct_cond_try_acquire(&c));
    cr_assert_eq(ct_cond_acquire_timed(&c, CT_MS(1)), CT_ETIMEDOUT);
    cr_assert_eq(ct_lock_release(&l), CT_OK);
    cr_assert_eq(ct_cond_acquire_timed(&c, CT_MS(1)), CT_OK);
    cr_assert(ct_lock_locked(&l));
    cr_assert_eq(ct_cond_release(&c), CT_OK);
    cr_assert_eq(ct_cond_release(&c), CT_EPERM);

    ct_rlock_t r = CT_RLOCK_INIT;
    ct_cond_init_rlock(&c, &r);
    cr_assert_eq(ct_cond_acquire(&c), CT_OK);
    cr_assert_eq(ct_cond_acquire(&c), CT_OK);
    cr_assert_eq(ct_rlock_count(&r), 2u);
    cr_assert_eq(ct_cond_release(&c), CT_OK);
    cr_assert_eq(ct_cond_release(&c), CT_OK);
    cr_assert_not(ct_rlock_is_owned(&r));

    /* NULL binds the condition's own RLock, like Condition(None). */
    ct_cond_init(&c, NULL);
    cr_assert_eq(ct_cond_acquire(&c), CT_OK);
    cr_assert_eq(ct_cond_acquire(&c), CT_OK);
    cr_assert_eq(ct_cond_release(&c), CT_OK);
    cr_assert_eq(ct_cond_release(&c), CT_OK);
    ct_cond_init_rlock(&c, NULL);
    cr_assert_eq(ct_cond_acquire(&c), CT_OK);
    cr_assert_eq(ct_cond_acquire(&c), CT_OK);
    cr_assert_eq(ct_cond_release(&c), CT_OK);
    cr_assert_eq(ct_cond_release(&c), CT_OK);
}

static bool never(void *arg) { ++*(int *)arg; return false; }

/* CPython's test_unacquired_wait / test_unacquired_notify, all three kinds. */
Test(cond, unacquired_wait_and_notify_are_eperm)
{
    for (int k = DEFAULT; k <= OVER_RLOCK; k++) {
        struct fixture f;
        int calls = 0;
        fixture_init(&f, (enum kind)k);
        cr_assert_not(ct_cond_is_owned(&f.c));
        cr_assert_eq(ct_cond_wait(&f.c), CT_EPERM);
        cr_assert_eq(ct_cond_wait_timed(&f.c, CT_MS(1)), CT_EPERM);
        cr_assert_eq(ct_cond_wait_for(&f.c, never, &calls, CT_MS(1)), CT_EPERM);
        cr_assert_eq(calls, 0, "pred must not run without the lock");
        cr_assert_eq(ct_cond_notify(&f.c, 1), CT_EPERM);
        cr_assert_eq(ct_cond_notify_all(&f.c), CT_EPERM);
        cr_assert_eq(ct_cond_release(&f.c), CT_EPERM);
        /* Still a working condition. */
        cr_assert_eq(ct_cond_acquire(&f.c), CT_OK);
        cr_assert_eq(ct_cond_notify(&f.c, 1), 0);
        cr_assert_eq(ct_cond_notify_all(&f.c), 0);
        cr_assert_eq(ct_cond_wait_timed(&f.c, 0), CT_ETIMEDOUT);
        cr_assert(ct_cond_is_owned(&f.c));
        cr_assert_eq(ct_cond_release(&f.c), CT_OK);
    }
}

/* An RLock held by another thread is not "held" for this one. */
struct rlock_holder {
    struct fixture *f;
    atomic_int holding, may_exit;
};

static void hold_cond(void *p)
{
    struct rlock_holder *h = p;
    ct_cond_acquire(&h->f->c);
    atomic_store(&h->holding, 1);
    while (!atomic_load(&h->may_exit))
        pause_briefly();
    ct_cond_release(&h->f->c);
}

Test(cond, rlock_owned_by_another_thread_is_eperm)
{
    for (int k = DEFAULT; k <= OVER_RLOCK; k += OVER_RLOCK - DEFAULT) {
        static struct fixture f;
        struct rlock_holder h = { .f = &f };
        ct_thread_t t;
        fixture_init(&f, (enum kind)k);
        cr_assert_eq(ct_thread_start(&t, hold_cond, &h), CT_OK);
        cr_assert(t_await(&h.holding, CT_SEC(30)));
        cr_assert_not(ct_cond_is_owned(&f.c));
        cr_assert_eq(ct_cond_wait_timed(&f.c, CT_MS(1)), CT_EPERM);
        cr_assert_eq(ct_cond_notify(&f.c, 1), CT_EPERM);
        cr_assert_eq(ct_cond_release(&f.c), CT_EPERM);
        atomic_store(&h.may_exit, 1);
        cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
        cr_assert(ct_cond_try_acquire(&f.c), "the owner's release worked");
        cr_assert_eq(ct_cond_release(&f.c), CT_OK);
    }
}

/* ---- CPython's _check_notify: notify(3), notify(5), notify_all ----------------- */
#define N_NOTIFY 5

struct notify_ctx {
    struct fixture f;
    int phase;                          /* under the lock */
    int entered1, entered2;             /* workers in their first/second wait */
    int n1, n2;
    int res1[N_NOTIFY][2], res2[N_NOTIFY][2];  /* (rc, phase) */
};

static void notify_worker(void *p)
{
    struct notify_ctx *x = p;
    int rc;
    ct_cond_acquire(&x->f.c);
    x->entered1++;
    rc = ct_cond_wait(&x->f.c);
    x->res1[x->n1][0] = rc;
    x->res1[x->n1][1] = x->phase;
    x->n1++;
    ct_cond_release(&x->f.c);

    ct_cond_acquire(&x->f.c);
    x->entered2++;
    rc = ct_cond_wait(&x->f.c);
    x->res2[x->n2][0] = rc;
    x->res2[x->n2][1] = x->phase;
    x->n2++;
    ct_cond_release(&x->f.c);
}

static void check_results(int (*res)[2], int from, int to, int phase)
{
    for (int i = from; i < to; i++) {
        cr_assert_eq(res[i][0], CT_OK, "result %d", i);
        cr_assert_eq(res[i][1], phase, "result %d: phase %d, want %d", i, res[i][1], phase);
    }
}

static void check_notify(enum kind k)
{
    static struct notify_ctx x;
    ct_thread_t t[N_NOTIFY];
    ct_cond_t *c = &x.f.c;

    memset(&x, 0, sizeof x);
    fixture_init(&x.f, k);
    cr_assert_eq(t_spawn_n(t, N_NOTIFY, notify_worker, &x, 0), CT_OK);
    /* Entering is counted under the lock just before the wait, so once all
     * have entered and we hold the lock, all are queued. */
    cr_assert_eq(await_count(c, &x.entered1, N_NOTIFY), N_NOTIFY);

    ct_cond_acquire(c);
    cr_assert_eq(x.n1, 0);
    cr_assert_eq(ct_cond_notify(c, 3), 3);
    x.phase = 1;
    ct_cond_release(c);
    cr_assert_eq(await_count(c, &x.n1, 3), 3);
    cr_assert_eq(await_count(c, &x.entered2, 3), 3);
    t_pause(CT_MS(5));                             /* widen the window only */
    ct_cond_acquire(c);
    cr_assert_eq(x.n1, 3, "notify(3) woke %d", x.n1);
    cr_assert_eq(x.n2, 0);
    check_results(x.res1, 0, 3, 1);

    /* Two are in their first wait (oldest), three in their second. */
    cr_assert_eq(ct_cond_notify(c, 5), 5);
    x.phase = 2;
    ct_cond_release(c);
    cr_assert_eq(await_count(c, &x.n2, 3), 3);
    cr_assert_eq(await_count(c, &x.n1, 5), 5);
    cr_assert_eq(await_count(c, &x.entered2, 5), 5);
    ct_cond_acquire(c);
    check_results(x.res1, 0, 3, 1);
    check_results(x.res1, 3, 5, 2);
    check_results(x.res2, 0, 3, 2);
    cr_assert_eq(x.n2, 3);

    cr_assert_eq(ct_cond_notify_all(c), 2);
    x.phase = 3;
    ct_cond_release(c);
    cr_assert_eq(t_join_n(t, N_NOTIFY), CT_OK);
    check_results(x.res2, 0, 3, 2);
    check_results(x.res2, 3, 5, 3);
    cr_assert_eq(x.n2, 5);
    cr_assert_not(ct_cond_is_owned(c));
    ct_cond_acquire(c);
    cr_assert_eq(ct_cond_notify_all(c), 0, "queue empty afterwards");
    ct_cond_release(c);
}

Test(cond, notify_phases_default, .timeout = 120)
{
    check_notify(DEFAULT);
    check_notify(DEFAULT);
}

Test(cond, notify_phases_over_lock, .timeout = 120)
{
    check_notify(OVER_LOCK);
    check_notify(OVER_LOCK);
}

Test(cond, notify_phases_over_rlock, .timeout = 120)
{
    check_notify(OVER_RLOCK);
    check_notify(OVER_RLOCK);
}

/* ---- FIFO: notify(1) wakes the oldest waiter ----------------------------------- */
#define N_FIFO 6

struct fifo_ctx {
    struct fixture f;
    int entered, next_id, n_woken;
    int woken[N_FIFO];
    int rc[N_FIFO];
};

static void fifo_worker(void *p)
{
    struct fifo_ctx *x = p;
    ct_cond_acquire(&x->f.c);
    int id = x->entered++;          /* my position in the queue */
    int rc = ct_cond_wait(&x->f.c);
    x->rc[id] = rc;
    x->woken[x->n_woken++] = id;
    ct_cond_release(&x->f.c);
}

Test(cond, notify_wakes_oldest_first, .timeout = 120)
{
    for (int k = DEFAULT; k <= OVER_RLOCK; k++) {
        static struct fifo_ctx x;
        ct_thread_t t[N_FIFO];
        memset(&x, 0, sizeof x);
        fixture_init(&x.f, (enum kind)k);
        cr_assert_eq(t_spawn_n(t, N_FIFO, fifo_worker, &x, 0), CT_OK);
        cr_assert_eq(await_count(&x.f.c, &x.entered, N_FIFO), N_FIFO);
        for (int i = 0; i < N_FIFO; i++) {
            ct_cond_acquire(&x.f.c);
            cr_assert_eq(ct_cond_notify(&x.f.c, 1), 1);
            ct_cond_release(&x.f.c);
            cr_assert_eq(await_count(&x.f.c, &x.n_woken, i + 1), i + 1);
        }
        cr_assert_eq(t_join_n(t, N_FIFO), CT_OK);
        for (int i = 0; i < N_FIFO; i++) {
            cr_assert_eq(x.woken[i], i, "kind %d: wake %d went to waiter %d", k, i, x.woken[i]);
            cr_assert_eq(x.rc[i], CT_OK);
        }
    }
}

/* ---- timeouts (CPython's test_timeout) ----------------------------------------- */
#define N_TIMEOUT 5

struct timeout_ctx {
    struct fixture f;
    int rc[N_TIMEOUT];
    int64_t took[N_TIMEOUT];
    bool owned_after[N_TIMEOUT];
    atomic_int next;
};

static void timeout_worker(void *p)
{
    struct timeout_ctx *x = p;
    int i = atomic_fetch_add(&x->next, 1);
    ct_cond_acquire(&x->f.c);
    int64_t t0 = t_now();
    x->rc[i] = ct_cond_wait_timed(&x->f.c, CT_MS(100));
    x->took[i] = t_now() - t0;
    x->owned_after[i] = ct_cond_is_owned(&x->f.c);
    ct_cond_release(&x->f.c);
}

Test(cond, wait_timeouts, .timeout = 120)
{
    for (int k = DEFAULT; k <= OVER_RLOCK; k++) {
        static struct timeout_ctx x;
        ct_thread_t t[N_TIMEOUT];
        memset(&x, 0, sizeof x);
        fixture_init(&x.f, (enum kind)k);
        cr_assert_eq(t_spawn_n(t, N_TIMEOUT, timeout_worker, &x, 0), CT_OK);
        cr_assert_eq(t_join_n(t, N_TIMEOUT), CT_OK);
        for (int i = 0; i < N_TIMEOUT; i++) {
            cr_assert_eq(x.rc[i], CT_ETIMEDOUT, "no spurious wake-up");
            cr_assert_geq(x.took[i], CT_MS(100));
            cr_assert_lt(x.took[i], CT_MS(100) + T_SLACK);
            cr_assert(x.owned_after[i], "lock re-taken after a timeout");
        }
        ct_cond_acquire(&x.f.c);
        cr_assert_eq(ct_cond_notify_all(&x.f.c), 0, "timed-out waiters left the queue");
        ct_cond_release(&x.f.c);
    }
}

Test(cond, zero_timeout_releases_and_retakes)
{
    ct_cond_t c = CT_COND_INIT;
    ct_cond_acquire(&c);
    ct_cond_acquire(&c);
    int64_t t0 = t_now();
    cr_assert_eq(ct_cond_wait_timed(&c, 0), CT_ETIMEDOUT);
    cr_assert_lt(t_now() - t0, T_SLACK);
    cr_assert_eq(ct_rlock_count(&c.u.own), 2u);
    cr_assert_eq(ct_cond_notify(&c, 1), 0);
    ct_cond_release(&c);
    ct_cond_release(&c);
}

/* A zero timeout still gives the lock up for the moment of the wait (CPython
 * releases it, then takes it back): a watcher that spins reading the Lock
 * must see it free during one of the waiter's zero-timeout waits, though the
 * waiter holds it at every other moment.  Never released: no sighting in
 * 10 s of trying (a sighting takes microseconds to milliseconds). */
struct zero_ctx { ct_lock_t l; ct_cond_t c; atomic_int watching, seen_free, stop; };

static void watch_lock(void *p)
{
    struct zero_ctx *x = p;
    atomic_store(&x->watching, 1);
    while (!atomic_load_explicit(&x->stop, memory_order_relaxed)) {
        if (!ct_lock_locked(&x->l)) {
            atomic_store(&x->seen_free, 1);
            return;
        }
        ct__cpu_relax();
    }
}

Test(cond, zero_timeout_wait_lets_go_of_the_lock, .timeout = 60)
{
    static struct zero_ctx x;
    ct_thread_t t;
    long waits = 0;
    memset(&x, 0, sizeof x);
    ct_cond_init(&x.c, &x.l);
    ct_cond_acquire(&x.c);                  /* held before the watcher looks */
    cr_assert_eq(ct_thread_start(&t, watch_lock, &x), CT_OK);
    cr_assert(t_await(&x.watching, CT_SEC(30)));
    int64_t end = t_now() + CT_SEC(10);
    while (!atomic_load(&x.seen_free) && t_now() < end) {
        cr_assert_eq(ct_cond_wait_timed(&x.c, 0), CT_ETIMEDOUT);
        cr_assert(ct_lock_locked(&x.l), "the lock is held again after the wait");
        waits++;
    }
    atomic_store(&x.stop, 1);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert(atomic_load(&x.seen_free), "the lock never looked free in %ld zero-timeout waits",
              waits);
    cr_assert_eq(ct_cond_notify(&x.c, 1), 0, "the timed-out waiter left the queue");
    ct_cond_release(&x.c);
}

/* ---- wait releases every RLock level and restores them ------------------------- */
struct levels_ctx {
    struct fixture f;
    atomic_int waiting;
    int got_lock, notified;
};

static void take_and_notify(void *p)
{
    struct levels_ctx *x = p;
    t_await(&x->waiting, CT_SEC(30));
    /* Succeeds only if the waiter released every level. */
    ct_cond_acquire(&x->f.c);
    x->got_lock = 1;
    x->notified = ct_cond_notify(&x->f.c, 1);
    ct_cond_release(&x->f.c);
}

Test(cond, wait_releases_all_levels_and_restores_them)
{
    for (int k = DEFAULT; k <= OVER_RLOCK; k += OVER_RLOCK - DEFAULT) {
        static struct levels_ctx x;
        ct_thread_t t;
        ct_rlock_t *r;
        memset(&x, 0, sizeof x);
        fixture_init(&x.f, (enum kind)k);
        r = k == DEFAULT ? &x.f.c.u.own : &x.f.rlock;
        for (int i = 0; i < 3; i++)
            ct_cond_acquire(&x.f.c);
        cr_assert_eq(ct_rlock_count(r), 3u);
        cr_assert_eq(ct_thread_start(&t, take_and_notify, &x), CT_OK);
        atomic_store(&x.waiting, 1);   /* the helper still needs our lock */
        cr_assert_eq(ct_cond_wait(&x.f.c), CT_OK);
        cr_assert_eq(ct_rlock_count(r), 3u, "levels restored");
        cr_assert_eq(x.got_lock, 1);
        cr_assert_eq(x.notified, 1);
        cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
        cr_assert_eq(ct_cond_wait_timed(&x.f.c, CT_MS(5)), CT_ETIMEDOUT);
        cr_assert_eq(ct_rlock_count(r), 3u, "levels restored after a timeout");
        for (int i = 0; i < 3; i++)
            cr_assert_eq(ct_cond_release(&x.f.c), CT_OK);
        cr_assert_not(ct_rlock_is_owned(r));
    }
}

/* ---- wait_for (CPython's test_waitfor / test_waitfor_timeout) --------------------- */
struct waitfor_ctx {
    struct fixture f;
    int state, entered, rc, state_seen, pred_calls;
    int64_t timeout, took;
};

static bool state_is_4(void *p)
{
    struct waitfor_ctx *x = p;
    x->pred_calls++;
    return x->state == 4;
}

static void waitfor_worker(void *p)
{
    struct waitfor_ctx *x = p;
    ct_cond_acquire(&x->f.c);
    x->entered = 1;
    int64_t t0 = t_now();
    x->rc = ct_cond_wait_for(&x->f.c, state_is_4, x, x->timeout);
    x->took = t_now() - t0;
    x->state_seen = x->state;
    ct_cond_release(&x->f.c);
}

static void run_waitfor(enum kind k, int64_t timeout, int increments)
{
    static struct waitfor_ctx x;
    ct_thread_t t;
    memset(&x, 0, sizeof x);
    fixture_init(&x.f, k);
    x.timeout = timeout;
    cr_assert_eq(ct_thread_start(&t, waitfor_worker, &x), CT_OK);
    cr_assert_eq(await_count(&x.f.c, &x.entered, 1), 1);
    for (int i = 0; i < increments; i++) {
        ct_cond_acquire(&x.f.c);
        x.state++;
        ct_cond_notify(&x.f.c, 1);
        ct_cond_release(&x.f.c);
    }
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    if (increments >= 4) {
        cr_assert_eq(x.rc, CT_OK);
        cr_assert_eq(x.state_seen, 4);
    } else {
        cr_assert_eq(x.rc, CT_ETIMEDOUT);
        cr_assert_geq(x.took, timeout, "one deadline for all the waits");
        cr_assert_lt(x.took, timeout + T_SLACK);
        cr_assert_eq(x.state_seen, increments);
    }
    cr_assert_geq(x.pred_calls, 1);
}

Test(cond, wait_for, .timeout = 120)
{
    for (int k = DEFAULT; k <= OVER_RLOCK; k++) {
        run_waitfor((enum kind)k, CT_FOREVER, 4);
        run_waitfor((enum kind)k, CT_SEC(60), 4);
        run_waitfor((enum kind)k, CT_MS(100), 3);
    }
}

static bool always(void *arg) { ++*(int *)arg; return true; }

Test(cond, wait_for_true_predicate_does_not_wait)
{
    ct_cond_t c = CT_COND_INIT;
    int calls = 0;
    ct_cond_acquire(&c);
    cr_assert_eq(ct_cond_wait_for(&c, always, &calls, 0), CT_OK);
    cr_assert_eq(ct_cond_wait_for(&c, always, &calls, CT_FOREVER), CT_OK);
    cr_assert_eq(calls, 2);
    calls = 0;
    cr_assert_eq(ct_cond_wait_for(&c, never, &calls, 0), CT_ETIMEDOUT);
    cr_assert_eq(calls, 2, "checked on entry and once more at the deadline");
    cr_assert(ct_cond_is_owned(&c));
    ct_cond_release(&c);
}

/* ---- bad input leaves the condition unchanged ------------------------------------ */
Test(cond, bad_timeouts_change_nothing)
{
    for (int k = DEFAULT; k <= OVER_RLOCK; k++) {
        struct fixture f;
        int calls = 0;
        fixture_init(&f, (enum kind)k);
        cr_assert_eq(ct_cond_acquire_timed(&f.c, -2), CT_EINVAL);
        cr_assert_eq(ct_cond_acquire_timed(&f.c, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
        cr_assert_not(ct_cond_is_owned(&f.c));
        ct_cond_acquire(&f.c);
        struct fixture before = f;
        cr_assert_eq(ct_cond_wait_timed(&f.c, -2), CT_EINVAL);
        cr_assert_eq(ct_cond_wait_timed(&f.c, INT64_MIN), CT_EINVAL);
        cr_assert_eq(ct_cond_wait_timed(&f.c, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
        cr_assert_eq(ct_cond_wait_for(&f.c, never, &calls, -7), CT_EINVAL);
        cr_assert_eq(ct_cond_wait_for(&f.c, never, &calls, INT64_MAX), CT_EOVERFLOW);
        cr_assert_eq(ct_cond_acquire_timed(&f.c, -2), CT_EINVAL);
        cr_assert_eq(calls, 0);
        cr_assert_eq(memcmp(&before, &f, sizeof f), 0, "object changed by a rejected call");
        cr_assert(ct_cond_is_owned(&f.c));
        cr_assert_eq(ct_cond_notify_all(&f.c), 0);
        cr_assert_eq(ct_cond_release(&f.c), CT_OK);
        /* Largest valid timeout on a free lock: acquired at once. */
        cr_assert_eq(ct_cond_acquire_timed(&f.c, CT_TIMEOUT_MAX), CT_OK);
        cr_assert_eq(ct_cond_release(&f.c), CT_OK);
    }
}

Test(cond, notify_zero_and_no_waiters)
{
    static struct fifo_ctx x;
    ct_thread_t t;
    memset(&x, 0, sizeof x);
    fixture_init(&x.f, DEFAULT);
    ct_cond_acquire(&x.f.c);
    cr_assert_eq(ct_cond_notify(&x.f.c, 0), 0);
    cr_assert_eq(ct_cond_notify(&x.f.c, 100), 0);
    ct_cond_release(&x.f.c);
    cr_assert_eq(ct_thread_start(&t, fifo_worker, &x), CT_OK);
    cr_assert_eq(await_count(&x.f.c, &x.entered, 1), 1);
    ct_cond_acquire(&x.f.c);
    cr_assert_eq(ct_cond_notify(&x.f.c, 0), 0, "notify(0) wakes nobody");
    cr_assert_eq(ct_cond_notify(&x.f.c, 100), 1, "min(n, waiting)");
    cr_assert_eq(ct_cond_notify(&x.f.c, 100), 0);
    ct_cond_release(&x.f.c);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(x.rc[0], CT_OK);
}

/* ---- bounded buffer: 4 producers, 4 consumers, exact sum --------------------------- */
#define BB_SIZE 8
#define BB_PRODUCERS 4
#define BB_CONSUMERS 4
#define BB_ITEMS 5000               /* per producer */

struct bbuf {
    ct_lock_t lock;
    ct_cond_t not_full, not_empty;  /* two conditions over one Lock */
    long items[BB_SIZE];
    int head, count, producers_left;
    long sum;                       /* under the lock */
    long consumed;
    atomic_int next_producer;
};

static void producer(void *p)
{
    struct bbuf *b = p;
    long base = (long)atomic_fetch_add(&b->next_producer, 1) * BB_ITEMS;
    for (long i = 1; i <= BB_ITEMS; i++) {
        ct_cond_acquire(&b->not_full);
        while (b->count == BB_SIZE)
            ct_cond_wait(&b->not_full);
        b->items[(b->head + b->count) % BB_SIZE] = base + i;
        b->count++;
        ct_cond_notify(&b->not_empty, 1);
        ct_cond_release(&b->not_full);
    }
    ct_cond_acquire(&b->not_full);
    if (--b->producers_left == 0)
        ct_cond_notify_all(&b->not_empty);
    ct_cond_release(&b->not_full);
}

static void consumer(void *p)
{
    struct bbuf *b = p;
    for (;;) {
        ct_cond_acquire(&b->not_empty);
        while (b->count == 0 && b->producers_left > 0)
            ct_cond_wait(&b->not_empty);
        if (b->count == 0) {
            ct_cond_release(&b->not_empty);
            return;
        }
        b->sum += b->items[b->head];
        b->head = (b->head + 1) % BB_SIZE;
        b->count--;
        b->consumed++;
        ct_cond_notify(&b->not_full, 1);
        ct_cond_release(&b->not_empty);
    }
}

Test(cond, bounded_buffer_stress, .timeout = 300)
{
    static struct bbuf b;
    ct_thread_t t[BB_PRODUCERS + BB_CONSUMERS];
    long n = (long)BB_PRODUCERS * BB_ITEMS;
    memset(&b, 0, sizeof b);
    ct_cond_init(&b.not_full, &b.lock);
    ct_cond_init(&b.not_empty, &b.lock);
    b.producers_left = BB_PRODUCERS;
    cr_assert_eq(t_spawn_n(t, BB_CONSUMERS, consumer, &b, 0), CT_OK);
    cr_assert_eq(t_spawn_n(t + BB_CONSUMERS, BB_PRODUCERS, producer, &b, 0), CT_OK);
    cr_assert_eq(t_join_n(t, BB_PRODUCERS + BB_CONSUMERS), CT_OK);
    cr_assert_eq(b.consumed, n);
    cr_assert_eq(b.sum, n * (n + 1) / 2);
    cr_assert_eq(b.count, 0);
    cr_assert_not(ct_lock_locked(&b.lock));
}

/* ---- notify versus timeout: every notification delivered exactly once ------------- */
#define RACE_WAITERS 3
#define RACE_ROUNDS 2000            /* per waiter */

struct race_ctx {
    struct fixture f;
    long delivered;                 /* sum of notify's return values (under the lock) */
    long ok, timedout, bad;         /* waiters' outcomes (under the lock) */
    int waiters_done;
    atomic_int stop;
};

static void race_waiter(void *p)
{
    struct race_ctx *x = p;
    unsigned seed = (unsigned)(uintptr_t)&seed;
    for (int i = 0; i < RACE_ROUNDS; i++) {
        seed = seed * 1103515245u + 12345u;
        /* Mostly timeouts shorter than the spin, some that reach the sleep. */
        int64_t timeout = (seed >> 16) % 8 == 0 ? CT_US(60) : (int64_t)((seed >> 8) % 3000);
        ct_cond_acquire(&x->f.c);
        int rc = ct_cond_wait_timed(&x->f.c, timeout);
        if (rc == CT_OK)
            x->ok++;
        else if (rc == CT_ETIMEDOUT)
            x->timedout++;
        else
            x->bad++;
        if (!ct_cond_is_owned(&x->f.c))
            x->bad += 1000;
        ct_cond_release(&x->f.c);
    }
    ct_cond_acquire(&x->f.c);
    x->waiters_done++;
    ct_cond_release(&x->f.c);
}

static void race_notifier(void *p)
{
    struct race_ctx *x = p;
    unsigned i = 0;
    while (!atomic_load(&x->stop)) {
        ct_cond_acquire(&x->f.c);
        int n = ct_cond_notify(&x->f.c, 1 + i % 2);
        if (n >= 0)
            x->delivered += n;
        else
            x->bad++;
        ct_cond_release(&x->f.c);
        /* 0 to ~80 us between notifications: as long as the waiters'
         * timeouts, so expiries and notifications meet. */
        for (unsigned k = 0; k < (i * 7919u) % 4000; k++)
            ct__cpu_relax();
        i++;
    }
}

static void run_race(enum kind k)
{
    static struct race_ctx x;
    ct_thread_t w[RACE_WAITERS], n;
    memset(&x, 0, sizeof x);
    fixture_init(&x.f, k);
    cr_assert_eq(ct_thread_start(&n, race_notifier, &x), CT_OK);
    cr_assert_eq(t_spawn_n(w, RACE_WAITERS, race_waiter, &x, 0), CT_OK);
    cr_assert_eq(t_join_n(w, RACE_WAITERS), CT_OK);
    atomic_store(&x.stop, 1);
    cr_assert_eq(ct_thread_join(&n, CT_FOREVER), CT_OK);
    cr_assert_eq(x.bad, 0);
    cr_assert_eq(x.ok + x.timedout, (long)RACE_WAITERS * RACE_ROUNDS);
    cr_assert_eq(x.delivered, x.ok, "kind %d: %ld notifications delivered, %ld waits saw one",
                 (int)k, x.delivered, x.ok);
    cr_assert_gt(x.ok, 0, "the race never delivered");
    cr_assert_gt(x.timedout, 0, "the race never timed out");
}

Test(cond, notify_vs_timeout_race_default, .timeout = 300) { run_race(DEFAULT); }
Test(cond, notify_vs_timeout_race_over_lock, .timeout = 300) { run_race(OVER_LOCK); }

/* ---- re-zeroing resets ---------------------------------------------------------------- */
Test(cond, rezeroing_resets)
{
    ct_cond_t c = CT_COND_INIT;
    ct_cond_acquire(&c);
    ct_cond_acquire(&c);
    memset(&c, 0, sizeof c);               /* nobody uses it: reset */
    cr_assert_not(ct_cond_is_owned(&c));
    cr_assert_eq(ct_cond_acquire(&c), CT_OK);
    cr_assert_eq(ct_cond_wait_timed(&c, CT_US(10)), CT_ETIMEDOUT);
    cr_assert_eq(ct_cond_release(&c), CT_OK);
}

/* Several tests release a Condition's unlocked Lock on purpose to check the
 * CT_EPERM path; with the TSan annotations on, TSan rightly reports that (as
 * for a pthread mutex).  Suppress exactly those reports: unlock of an
 * unlocked mutex reached through ct_cond_release. */
#if defined(CT__TSAN) && !defined(CT_NO_TSAN_ANNOTATIONS)
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
    return "mutex:ct_cond_release\n";
}
#endif
