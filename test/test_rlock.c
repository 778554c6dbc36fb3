/* RLock: every behaviour of CPython's RLockTests / BaseLockTests, recursion
 * counts, bad input with the lock unchanged, and a mutual-exclusion stress. */
#include <limits.h>
#include <string.h>
#include "ct_test.h"
#include "helpers.h"

Test(rlock, zero_initialised_is_free_and_small)
{
    ct_rlock_t r;
    ct_rlock_t s = CT_RLOCK_INIT;
    memset(&r, 0, sizeof r);
    cr_assert_leq(sizeof(ct_rlock_t), 16u);
    cr_assert_not(ct_rlock_is_owned(&r));
    cr_assert_eq(ct_rlock_count(&r), 0u);
    cr_assert_not(ct_rlock_is_owned(&s));
    cr_assert(ct_rlock_try_acquire(&r));
    cr_assert_eq(ct_rlock_release(&r), CT_OK);
}

Test(rlock, acquire_release)
{
    ct_rlock_t r = CT_RLOCK_INIT;
    cr_assert_eq(ct_rlock_acquire(&r), CT_OK);
    cr_assert(ct_rlock_is_owned(&r));
    cr_assert_eq(ct_rlock_release(&r), CT_OK);
    cr_assert_not(ct_rlock_is_owned(&r));
}

Test(rlock, reacquire_and_counts)
{
    ct_rlock_t r = CT_RLOCK_INIT;
    cr_assert_eq(ct_rlock_acquire(&r), CT_OK);
    cr_assert_eq(ct_rlock_acquire(&r), CT_OK);
    cr_assert_eq(ct_rlock_count(&r), 2u);
    cr_assert_eq(ct_rlock_release(&r), CT_OK);
    cr_assert_eq(ct_rlock_count(&r), 1u);
    cr_assert(ct_rlock_try_acquire(&r), "re-entry never fails");
    cr_assert_eq(ct_rlock_acquire_timed(&r, 0), CT_OK, "re-entry with timeout 0");
    cr_assert_eq(ct_rlock_count(&r), 3u);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ct_rlock_release(&r), CT_OK);
    cr_assert_eq(ct_rlock_count(&r), 0u);
    cr_assert_not(ct_rlock_is_owned(&r));
}

Test(rlock, deep_recursion)
{
    ct_rlock_t r = CT_RLOCK_INIT;
    for (unsigned i = 1; i <= 10000; i++) {
        cr_assert_eq(ct_rlock_acquire(&r), CT_OK);
        if (i % 2500 == 0)
            cr_assert_eq(ct_rlock_count(&r), i);
    }
    for (unsigned i = 10000; i > 0; i--)
        cr_assert_eq(ct_rlock_release(&r), CT_OK);
    cr_assert_not(ct_rlock_is_owned(&r));
    cr_assert_eq(ct_rlock_release(&r), CT_EPERM);
}

Test(rlock, release_unacquired_is_eperm)
{
    ct_rlock_t r = CT_RLOCK_INIT;
    cr_assert_eq(ct_rlock_release(&r), CT_EPERM);
    cr_assert_eq(ct_rlock_acquire(&r), CT_OK);
    cr_assert_eq(ct_rlock_acquire(&r), CT_OK);
    cr_assert_eq(ct_rlock_release(&r), CT_OK);
    cr_assert_eq(ct_rlock_acquire(&r), CT_OK);
    cr_assert_eq(ct_rlock_release(&r), CT_OK);
    cr_assert_eq(ct_rlock_release(&r), CT_OK);
    cr_assert_eq(ct_rlock_release(&r), CT_EPERM);
    cr_assert_not(ct_rlock_is_owned(&r));
    cr_assert(ct_rlock_try_acquire(&r), "still usable");
    cr_assert_eq(ct_rlock_release(&r), CT_OK);
}

/* A helper thread that runs one operation on the lock and reports. */
struct probe {
    ct_rlock_t *r;
    bool try_got, owned;
    unsigned count;
    int timed_rc, release_rc;
};

static void probe_from_thread(void *p)
{
    struct probe *c = p;
    c->owned = ct_rlock_is_owned(c->r);
    c->count = ct_rlock_count(c->r);
    c->release_rc = ct_rlock_release(c->r);
    c->try_got = ct_rlock_try_acquire(c->r);
    c->timed_rc = ct_rlock_acquire_timed(c->r, CT_MS(20));
}

Test(rlock, other_threads_see_it_held_and_cannot_release)
{
    ct_rlock_t r = CT_RLOCK_INIT;
    struct probe c = { &r, true, true, 99, 99, 99 };
    ct_thread_t t;
    cr_assert_eq(ct_rlock_acquire(&r), CT_OK);
    cr_assert_eq(ct_rlock_acquire(&r), CT_OK);
    cr_assert_eq(ct_thread_start(&t, probe_from_thread, &c), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_not(c.owned, "_is_owned from another thread");
    cr_assert_eq(c.count, 0u);
    cr_assert_eq(c.release_rc, CT_EPERM);
    cr_assert_not(c.try_got);
    cr_assert_eq(c.timed_rc, CT_ETIMEDOUT);
    /* Nothing changed for the owner. */
    cr_assert(ct_rlock_is_owned(&r));
    cr_assert_eq(ct_rlock_count(&r), 2u);
    cr_assert_eq(ct_rlock_release(&r), CT_OK);
    cr_assert(ct_rlock_is_owned(&r));
    cr_assert_eq(ct_rlock_release(&r), CT_OK);
    cr_assert_not(ct_rlock_is_owned(&r));
}

/* CPython's test_different_thread: a thread acquires and keeps it; the main
 * thread cannot release it. */
struct holder {
    ct_rlock_t r;
    atomic_int acquired, may_exit;
    int release_rc;
};

static void hold_until_told(void *p)
{
    struct holder *h = p;
    ct_rlock_acquire(&h->r);
    atomic_store(&h->acquired, 1);
    while (!atomic_load(&h->may_exit))
        t_pause(CT_US(100));
    h->release_rc = ct_rlock_release(&h->r);
}

Test(rlock, release_by_non_owner_changes_nothing)
{
    static struct holder h;
    ct_thread_t t;
    memset(&h, 0, sizeof h);
    cr_assert_eq(ct_thread_start(&t, hold_until_told, &h), CT_OK);
    cr_assert(t_await(&h.acquired, CT_SEC(30)));
    cr_assert_eq(ct_rlock_release(&h.r), CT_EPERM);
    cr_assert_eq(ct_rlock_release(&h.r), CT_EPERM);
    cr_assert_not(ct_rlock_is_owned(&h.r));
    cr_assert_not(ct_rlock_try_acquire(&h.r), "still held by the other thread");
    atomic_store(&h.may_exit, 1);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(h.release_rc, CT_OK, "the owner's single release still works");
    cr_assert(ct_rlock_try_acquire(&h.r));
    cr_assert_eq(ct_rlock_release(&h.r), CT_OK);
}

Test(rlock, is_owned_sequence)
{
    ct_rlock_t r = CT_RLOCK_INIT;
    struct probe c = { &r, true, true, 99, 99, 99 };
    ct_thread_t t;
    cr_assert_not(ct_rlock_is_owned(&r));
    ct_rlock_acquire(&r);
    cr_assert(ct_rlock_is_owned(&r));
    ct_rlock_acquire(&r);
    cr_assert(ct_rlock_is_owned(&r));
    cr_assert_eq(ct_thread_start(&t, probe_from_thread, &c), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_not(c.owned);
    ct_rlock_release(&r);
    cr_assert(ct_rlock_is_owned(&r));
    ct_rlock_release(&r);
    cr_assert_not(ct_rlock_is_owned(&r));
}

/* CPython's test_acquire_contended: N threads block until the owner's last
 * release. */
#define N_CONTENDERS 5
struct contend {
    ct_rlock_t r;
    atomic_int started, finished;
};

static void acquire_release_twice(void *p)
{
    struct contend *c = p;
    atomic_fetch_add(&c->started, 1);
    ct_rlock_acquire(&c->r);
    ct_rlock_acquire(&c->r);
    atomic_fetch_add(&c->finished, 1);
    ct_rlock_release(&c->r);
    ct_rlock_release(&c->r);
}

Test(rlock, acquire_contended_waits_for_last_release)
{
    static struct contend c;
    ct_thread_t t[N_CONTENDERS];
    memset(&c, 0, sizeof c);
    ct_rlock_acquire(&c.r);
    ct_rlock_acquire(&c.r);
    for (int i = 0; i < N_CONTENDERS; i++)
        cr_assert_eq(ct_thread_start(&t[i], acquire_release_twice, &c), CT_OK);
    while (atomic_load(&c.started) < N_CONTENDERS)
        t_pause(CT_US(100));
    t_pause(CT_MS(10));        /* widen the window only */
    cr_assert_eq(atomic_load(&c.finished), 0);
    ct_rlock_release(&c.r);
    t_pause(CT_MS(10));        /* widen the window only */
    cr_assert_eq(atomic_load(&c.finished), 0, "one release of two freed it");
    ct_rlock_release(&c.r);
    for (int i = 0; i < N_CONTENDERS; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
    cr_assert_eq(atomic_load(&c.finished), N_CONTENDERS);
    cr_assert_not(ct_rlock_is_owned(&c.r));
    cr_assert(ct_rlock_try_acquire(&c.r));
    ct_rlock_release(&c.r);
}

struct timed {
    ct_rlock_t *r;
    int rc;
    int64_t took;
};

static void timed_half_second(void *p)
{
    struct timed *c = p;
    int64_t t0 = t_now();
    c->rc = ct_rlock_acquire_timed(c->r, CT_MS(100));
    c->took = t_now() - t0;
}

Test(rlock, timeouts)
{
    ct_rlock_t r = CT_RLOCK_INIT;
    struct timed c = { &r, 99, 0 };
    ct_thread_t t;
    cr_assert_eq(ct_rlock_acquire_timed(&r, CT_TIMEOUT_MAX), CT_OK);
    cr_assert_eq(ct_rlock_release(&r), CT_OK);
    int64_t t0 = t_now();
    cr_assert_eq(ct_rlock_acquire_timed(&r, CT_SEC(5)), CT_OK);
    cr_assert_lt(t_now() - t0, CT_SEC(5), "free lock: no waiting");
    cr_assert_eq(ct_thread_start(&t, timed_half_second, &c), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(c.rc, CT_ETIMEDOUT);
    cr_assert_geq(c.took, CT_MS(100));
    cr_assert_lt(c.took, CT_MS(100) + T_SLACK);
    cr_assert(ct_rlock_is_owned(&r), "a timeout elsewhere changes nothing");
    cr_assert_eq(ct_rlock_count(&r), 1u);
    cr_assert_eq(ct_rlock_release(&r), CT_OK);
    /* State after a timeout left the word contended: still works. */
    cr_assert(ct_rlock_try_acquire(&r));
    cr_assert_eq(ct_rlock_release(&r), CT_OK);
}

struct timed_ok { ct_rlock_t *r; atomic_int started; int rc; };

static void timed_long(void *p)
{
    struct timed_ok *c = p;
    atomic_store(&c->started, 1);
    c->rc = ct_rlock_acquire_timed(c->r, CT_SEC(60));
    if (c->rc == CT_OK) {
        c->rc = ct_rlock_count(c->r) == 1 ? CT_OK : -100;
        ct_rlock_release(c->r);
    }
}

Test(rlock, timed_acquire_succeeds_when_released_in_time)
{
    ct_rlock_t r = CT_RLOCK_INIT;
    struct timed_ok c = { .r = &r, .rc = 99 };
    ct_thread_t t;
    ct_rlock_acquire(&r);
    cr_assert_eq(ct_thread_start(&t, timed_long, &c), CT_OK);
    cr_assert(t_await(&c.started, CT_SEC(30)));
    ct_rlock_release(&r);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(c.rc, CT_OK);
    cr_assert_not(ct_rlock_is_owned(&r));
}

Test(rlock, bad_timeouts_leave_the_lock_unchanged)
{
    ct_rlock_t r = CT_RLOCK_INIT;
    cr_assert_eq(ct_rlock_acquire_timed(&r, -2), CT_EINVAL);
    cr_assert_eq(ct_rlock_acquire_timed(&r, INT64_MIN), CT_EINVAL);
    cr_assert_eq(ct_rlock_acquire_timed(&r, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
    cr_assert_not(ct_rlock_is_owned(&r));
    cr_assert(ct_rlock_try_acquire(&r), "nothing was acquired");
    /* Owned: a bad timeout does not add a level either. */
    cr_assert_eq(ct_rlock_acquire_timed(&r, -5), CT_EINVAL);
    cr_assert_eq(ct_rlock_acquire_timed(&r, INT64_MAX), CT_EOVERFLOW);
    cr_assert_eq(ct_rlock_count(&r), 1u);
    cr_assert_eq(ct_rlock_release(&r), CT_OK);
    cr_assert_not(ct_rlock_is_owned(&r));
}

/* White-box: the recursion count is full.  Setting the owner's own count
 * directly stands in for 4 billion acquires (the field holds the levels
 * beyond the first: src/rlock.c). */
Test(rlock, count_overflow_is_eoverflow_and_harmless)
{
    ct_rlock_t r = CT_RLOCK_INIT;
    ct_rlock_acquire(&r);
    r.count = UINT32_MAX - 1;
    cr_assert_eq(ct_rlock_acquire(&r), CT_EOVERFLOW);
    cr_assert_not(ct_rlock_try_acquire(&r));
    cr_assert_eq(ct_rlock_acquire_timed(&r, CT_MS(1)), CT_EOVERFLOW);
    cr_assert_eq(ct_rlock_count(&r), UINT32_MAX, "count unchanged");
    cr_assert_eq(ct_rlock_release(&r), CT_OK);
    cr_assert_eq(ct_rlock_count(&r), UINT32_MAX - 1);
    cr_assert_eq(ct_rlock_acquire(&r), CT_OK);
    r.count = 0;
    cr_assert_eq(ct_rlock_release(&r), CT_OK);
    cr_assert_not(ct_rlock_is_owned(&r));
}

/* White-box: uncontended re-entry must not write the lock word. */
Test(rlock, reentry_leaves_the_word_alone)
{
    ct_rlock_t r = CT_RLOCK_INIT;
    ct_rlock_acquire(&r);
    uint32_t word = r.state;
    uint64_t owner = r.owner;
    for (int i = 0; i < 10; i++)
        ct_rlock_acquire(&r);
    cr_assert_eq(r.state, word);
    cr_assert_eq(r.owner, owner);
    for (int i = 0; i < 10; i++)
        ct_rlock_release(&r);
    cr_assert_eq(r.state, word);
    ct_rlock_release(&r);
    cr_assert_eq(r.state, 0u);
    cr_assert_eq(r.owner, 0u);
}

/* ---- mutual exclusion stress, with nested levels ------------------------------- */
#define STRESS_THREADS 6
#define STRESS_ITERS 20000

struct stress {
    ct_rlock_t r;
    long counter;
    atomic_int inside, violations;
};

static void hammer(void *p)
{
    struct stress *c = p;
    for (int i = 0; i < STRESS_ITERS; i++) {
        if (i % 3 == 0)
            ct_rlock_acquire(&c->r);
        else if (i % 3 == 1)
            while (!ct_rlock_try_acquire(&c->r)) {}
        else
            while (ct_rlock_acquire_timed(&c->r, CT_US(10)) != CT_OK) {}
        if (atomic_fetch_add(&c->inside, 1) != 0)
            atomic_fetch_add(&c->violations, 1);
        ct_rlock_acquire(&c->r);                 /* nested level */
        c->counter++;
        if (ct_rlock_count(&c->r) != 2)
            atomic_fetch_add(&c->violations, 1);
        ct_rlock_release(&c->r);
        atomic_fetch_sub(&c->inside, 1);
        ct_rlock_release(&c->r);
    }
}

Test(rlock, mutual_exclusion_stress, .timeout = 300)
{
    static struct stress c;
    ct_thread_t t[STRESS_THREADS];
    memset(&c, 0, sizeof c);
    for (int i = 0; i < STRESS_THREADS; i++)
        cr_assert_eq(ct_thread_start(&t[i], hammer, &c), CT_OK);
    for (int i = 0; i < STRESS_THREADS; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
    cr_assert_eq(c.counter, (long)STRESS_THREADS * STRESS_ITERS);
    cr_assert_eq(atomic_load(&c.violations), 0);
    cr_assert_not(ct_rlock_is_owned(&c.r));
    cr_assert_eq(c.r.state, 0u);
}
