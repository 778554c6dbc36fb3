/* Semaphore and BoundedSemaphore: every behaviour of CPython's
 * BaseSemaphoreTests / SemaphoreTests / BoundedSemaphoreTests, the C-only
 * edges (bad arguments, INT64 limits, racing bounded releases), and stress:
 * a semaphore-guarded pool and timed acquirers racing releases. */
#include <string.h>
#include "ct_test.h"
#include "helpers.h"
#include "internal/platform.h"
#include "internal/sem_word.h"   /* white-box: SLEEPERS, SLEEP_HALF_INDEX */

/* White-box (src/sem.c): bit 63 of the state word is SLEEPERS, set by a thread
 * about to sleep, only while the value is 0. */

static bool sem_has_sleepers(ct_sem_t *s)
{
    return (atomic_load((_Atomic uint64_t *)&s->state) & SLEEPERS) != 0;
}

/* Waits (up to 30 s) until a thread is parked on s: polls the SLEEPERS bit
 * instead of sleeping and hoping. */
static void await_sleeper(ct_sem_t *s)
{
    cr_assert(T_AWAIT(sem_has_sleepers(s), CT_SEC(30)), "no thread parked on the semaphore");
}

Test(sem, size_and_zero_initialised_is_value_0_unbounded)
{
    ct_sem_t s;
    ct_sem_t st = CT_SEM_INIT;
    memset(&s, 0, sizeof s);
    cr_assert_leq(sizeof(ct_sem_t), 16u);
    cr_assert_eq(ct_sem_value(&s), 0);
    cr_assert_eq(ct_sem_value(&st), 0);
    cr_assert_not(ct_sem_try_acquire(&s));
    cr_assert_eq(ct_sem_acquire_timed(&s, 0), CT_ETIMEDOUT);
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK, "unbounded: no limit at 1");
    cr_assert_eq(ct_sem_value(&s), 2);
    cr_assert(ct_sem_try_acquire(&s));
    cr_assert_eq(ct_sem_acquire(&s), CT_OK);
    cr_assert_eq(ct_sem_value(&s), 0);
}

Test(sem, constructor_rejects_negative_values)
{
    ct_sem_t s;
    int64_t bad[] = { -1, -1000, INT64_MIN + 1, INT64_MIN };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(ct_sem_init(&s, 5), CT_OK);
        cr_assert_eq(ct_sem_init(&s, bad[i]), CT_EINVAL);
        cr_assert_eq(ct_sem_init_bounded(&s, bad[i]), CT_EINVAL);
        cr_assert_eq(ct_sem_value(&s), 5, "a rejected init must leave s as it was");
        cr_assert_eq(ct_sem_release(&s, INT64_MAX - 5), CT_OK, "still unbounded");
    }
    cr_assert_eq(ct_sem_init(&s, 0), CT_OK);
    cr_assert_eq(ct_sem_init(&s, INT64_MAX), CT_OK);
    cr_assert_eq(ct_sem_value(&s), INT64_MAX);
    cr_assert_eq(ct_sem_init_bounded(&s, INT64_MAX), CT_OK);
    cr_assert_eq(ct_sem_value(&s), INT64_MAX);
}

Test(sem, acquire_release)
{
    ct_sem_t s;
    cr_assert_eq(ct_sem_init(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_acquire(&s), CT_OK);
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_init(&s, 2), CT_OK);
    cr_assert_eq(ct_sem_acquire(&s), CT_OK);
    cr_assert_eq(ct_sem_acquire(&s), CT_OK);
    cr_assert_eq(ct_sem_value(&s), 0);
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_value(&s), 2);
}

/* ---- CPython test_acquire_contended / test_multirelease ---------------------- */
#define CONT_THREADS 10

struct contended {
    ct_sem_t s;
    atomic_int phase;           /* written by the test before releasing */
    atomic_int done;            /* acquisitions so far */
    atomic_int phases[2 * CONT_THREADS];
};

static void acquire_twice(void *p)
{
    struct contended *c = p;
    for (int k = 0; k < 2; k++) {
        ct_sem_acquire(&c->s);
        int ph = atomic_load(&c->phase);
        atomic_store(&c->phases[atomic_fetch_add(&c->done, 1)], ph);
    }
}

static void run_contended(bool bounded, bool multirelease)
{
    static struct contended c;
    ct_thread_t t[CONT_THREADS];
    int count[3] = { 0 };

    memset(&c, 0, sizeof c);
    cr_assert_eq(bounded ? ct_sem_init_bounded(&c.s, 7) : ct_sem_init(&c.s, 7), CT_OK);
    cr_assert_eq(ct_sem_acquire(&c.s), CT_OK);
    for (int i = 0; i < CONT_THREADS; i++)
        cr_assert_eq(ct_thread_start(&t[i], acquire_twice, &c), CT_OK);
    cr_assert_eq(t_await_count(&c.done, 6), 6);
    t_pause_ms(20);                                  /* widen the window only */
    cr_assert_eq(atomic_load(&c.done), 6, "took more permits than there were");
    atomic_store(&c.phase, 1);
    if (multirelease)
        cr_assert_eq(ct_sem_release(&c.s, 7), CT_OK);   /* all 7 are held */
    else
        for (int i = 0; i < 7; i++)
            cr_assert_eq(ct_sem_release(&c.s, 1), CT_OK);
    cr_assert_eq(t_await_count(&c.done, 13), 13);
    atomic_store(&c.phase, 2);
    if (multirelease)
        cr_assert_eq(ct_sem_release(&c.s, 6), CT_OK);
    else
        for (int i = 0; i < 6; i++)
            cr_assert_eq(ct_sem_release(&c.s, 1), CT_OK);
    cr_assert_eq(t_await_count(&c.done, 19), 19);
    t_pause_ms(20);
    cr_assert_eq(atomic_load(&c.done), 19);
    cr_assert_not(ct_sem_try_acquire(&c.s), "the semaphore is still locked");
    cr_assert_eq(ct_sem_release(&c.s, 1), CT_OK);
    for (int i = 0; i < CONT_THREADS; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
    for (int i = 0; i < 20; i++)
        count[atomic_load(&c.phases[i])]++;
    cr_assert_eq(count[0], 6);
    cr_assert_eq(count[1], 7);
    cr_assert_eq(count[2], 7, "6 in phase 2, plus the final release");
    cr_assert_eq(ct_sem_value(&c.s), 0);
}

Test(sem, acquire_contended, .timeout = 60) { run_contended(false, false); }
Test(sem, acquire_contended_bounded, .timeout = 60) { run_contended(true, false); }
Test(sem, multirelease, .timeout = 60) { run_contended(false, true); }
Test(sem, multirelease_bounded, .timeout = 60) { run_contended(true, true); }

Test(sem, try_acquire)
{
    ct_sem_t s;
    cr_assert_eq(ct_sem_init(&s, 2), CT_OK);
    cr_assert(ct_sem_try_acquire(&s));
    cr_assert(ct_sem_try_acquire(&s));
    cr_assert_not(ct_sem_try_acquire(&s));
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK);
    cr_assert(ct_sem_try_acquire(&s));
}

struct try_ctx { ct_sem_t *s; atomic_int yes, no; };

static void try_twice(void *p)
{
    struct try_ctx *c = p;
    for (int k = 0; k < 2; k++)
        atomic_fetch_add(ct_sem_try_acquire(c->s) ? &c->yes : &c->no, 1);
}

Test(sem, try_acquire_contended)
{
    ct_sem_t s;
    struct try_ctx c = { .s = &s };
    ct_thread_t t[5];
    cr_assert_eq(ct_sem_init(&s, 4), CT_OK);
    cr_assert_eq(ct_sem_acquire(&s), CT_OK);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(ct_thread_start(&t[i], try_twice, &c), CT_OK);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
    cr_assert_eq(atomic_load(&c.yes), 3);
    cr_assert_eq(atomic_load(&c.no), 7);
}

Test(sem, acquire_timeout)
{
    ct_sem_t s;
    cr_assert_eq(ct_sem_init(&s, 2), CT_OK);
    cr_assert_eq(ct_sem_acquire_timed(&s, CT_MS(5)), CT_OK);
    cr_assert_eq(ct_sem_acquire_timed(&s, CT_MS(5)), CT_OK);
    cr_assert_eq(ct_sem_acquire_timed(&s, CT_MS(5)), CT_ETIMEDOUT);
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_acquire_timed(&s, CT_MS(5)), CT_OK);
    for (int i = 0; i < 2; i++) {
        int64_t t0 = t_now();
        cr_assert_eq(ct_sem_acquire_timed(&s, CT_MS(50)), CT_ETIMEDOUT);
        int64_t took = t_now() - t0;
        cr_assert_geq(took, CT_MS(50), "timed out %lld ns early", (long long)(CT_MS(50) - took));
        cr_assert_lt(took, CT_MS(50) + T_SLACK);
        cr_assert_eq(ct_sem_value(&s), 0, "a timeout must not change the value");
    }
    /* Still works after timeouts left the sleepers bit behind. */
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_value(&s), 1);
    cr_assert_eq(ct_sem_acquire_timed(&s, CT_MS(50)), CT_OK);
}

Test(sem, bad_timeouts_take_nothing)
{
    ct_sem_t s;
    cr_assert_eq(ct_sem_init(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_acquire_timed(&s, -2), CT_EINVAL);
    cr_assert_eq(ct_sem_acquire_timed(&s, INT64_MIN), CT_EINVAL);
    cr_assert_eq(ct_sem_acquire_timed(&s, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
    cr_assert_eq(ct_sem_acquire_timed(&s, INT64_MAX), CT_EOVERFLOW);
    cr_assert_eq(ct_sem_value(&s), 1);
    cr_assert_eq(ct_sem_acquire_timed(&s, CT_TIMEOUT_MAX), CT_OK);
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_acquire_timed(&s, CT_FOREVER), CT_OK);
}

struct block_ctx { ct_sem_t *s; atomic_int started, finished; };

static void acquire_release_marked(void *p)
{
    struct block_ctx *c = p;
    atomic_store(&c->started, 1);
    ct_sem_acquire(c->s);
    atomic_store(&c->finished, 1);
    ct_sem_release(c->s, 1);
}

static void check_blocks_until_release(ct_sem_t *s)
{
    struct block_ctx c = { .s = s };
    ct_thread_t t;
    cr_assert_eq(ct_sem_acquire(s), CT_OK);
    cr_assert_eq(ct_thread_start(&t, acquire_release_marked, &c), CT_OK);
    cr_assert(t_await(&c.started, CT_SEC(30)));
    t_pause_ms(20);                                  /* widen the window only */
    cr_assert_eq(atomic_load(&c.finished), 0, "acquired with no permit");
    cr_assert_eq(ct_sem_release(s, 1), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(atomic_load(&c.finished), 1);
    cr_assert_eq(ct_sem_value(s), 1);
}

Test(sem, default_value_blocks_until_release)
{
    ct_sem_t s;
    cr_assert_eq(ct_sem_init(&s, 1), CT_OK);         /* Python's default */
    check_blocks_until_release(&s);
    cr_assert_eq(ct_sem_init_bounded(&s, 1), CT_OK);
    check_blocks_until_release(&s);
}

Test(sem, with_statement_nesting)
{
    ct_sem_t s;
    cr_assert_eq(ct_sem_init(&s, 2), CT_OK);
    cr_assert_eq(ct_sem_acquire(&s), CT_OK);         /* with sem: */
    cr_assert(ct_sem_try_acquire(&s));
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_acquire(&s), CT_OK);         /*   with sem: */
    cr_assert_not(ct_sem_try_acquire(&s));
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK);
    cr_assert(ct_sem_try_acquire(&s));
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_value(&s), 2);
}

Test(sem, release_unacquired_unbounded)
{
    ct_sem_t s;
    cr_assert_eq(ct_sem_init(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_value(&s), 2);
    cr_assert_eq(ct_sem_acquire(&s), CT_OK);
    cr_assert_eq(ct_sem_acquire(&s), CT_OK);
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_value(&s), 1);
}

Test(sem, release_unacquired_bounded)
{
    ct_sem_t s;
    cr_assert_eq(ct_sem_init_bounded(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_release(&s, 1), CT_EOVERFLOW);
    cr_assert_eq(ct_sem_value(&s), 1);
    cr_assert_eq(ct_sem_acquire(&s), CT_OK);
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_release(&s, 1), CT_EOVERFLOW);
    cr_assert_eq(ct_sem_value(&s), 1);
    /* Bound 0: never releasable. */
    cr_assert_eq(ct_sem_init_bounded(&s, 0), CT_OK);
    cr_assert_eq(ct_sem_release(&s, 1), CT_EOVERFLOW);
    cr_assert_eq(ct_sem_value(&s), 0);
}

Test(sem, bounded_release_n_past_the_bound_releases_nothing)
{
    ct_sem_t s;
    cr_assert_eq(ct_sem_init_bounded(&s, 3), CT_OK);
    cr_assert_eq(ct_sem_acquire(&s), CT_OK);
    cr_assert_eq(ct_sem_acquire(&s), CT_OK);
    cr_assert_eq(ct_sem_release(&s, 3), CT_EOVERFLOW);
    cr_assert_eq(ct_sem_value(&s), 1, "nothing released");
    cr_assert_eq(ct_sem_release(&s, INT64_MAX), CT_EOVERFLOW);
    cr_assert_eq(ct_sem_value(&s), 1);
    cr_assert_eq(ct_sem_release(&s, 2), CT_OK);
    cr_assert_eq(ct_sem_value(&s), 3);
}

Test(sem, release_n_below_1_is_einval)
{
    ct_sem_t s;
    int64_t bad[] = { 0, -1, INT64_MIN };
    for (int b = 0; b < 2; b++) {
        cr_assert_eq(b ? ct_sem_init_bounded(&s, 2) : ct_sem_init(&s, 2), CT_OK);
        cr_assert_eq(ct_sem_acquire(&s), CT_OK);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            cr_assert_eq(ct_sem_release(&s, bad[i]), CT_EINVAL);
            cr_assert_eq(ct_sem_value(&s), 1);
        }
    }
}

Test(sem, unbounded_overflow_past_int64_max)
{
    ct_sem_t s;
    cr_assert_eq(ct_sem_init(&s, INT64_MAX - 1), CT_OK);
    cr_assert_eq(ct_sem_release(&s, 2), CT_EOVERFLOW);
    cr_assert_eq(ct_sem_release(&s, INT64_MAX), CT_EOVERFLOW);
    cr_assert_eq(ct_sem_value(&s), INT64_MAX - 1);
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK);
    cr_assert_eq(ct_sem_value(&s), INT64_MAX);
    cr_assert_eq(ct_sem_release(&s, 1), CT_EOVERFLOW);
    cr_assert(ct_sem_try_acquire(&s));
    cr_assert_eq(ct_sem_value(&s), INT64_MAX - 1);
    /* From 0, one release of the whole range. */
    cr_assert_eq(ct_sem_init(&s, 0), CT_OK);
    cr_assert_eq(ct_sem_release(&s, INT64_MAX), CT_OK);
    cr_assert_eq(ct_sem_value(&s), INT64_MAX);
}

/* Sleepers must be woken by a release of a multiple of 2^32 permits (the
 * sleep word is one 32-bit half of the 64-bit value). */
struct sleeper_ctx { ct_sem_t *s; atomic_int started, done; };

static void sleep_acquire(void *p)
{
    struct sleeper_ctx *c = p;
    atomic_fetch_add(&c->started, 1);
    ct_sem_acquire(c->s);
    atomic_fetch_add(&c->done, 1);
}

Test(sem, release_of_2_pow_32_wakes_sleepers, .timeout = 60)
{
    ct_sem_t s = CT_SEM_INIT;
    struct sleeper_ctx c = { .s = &s };
    ct_thread_t t[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ct_thread_start(&t[i], sleep_acquire, &c), CT_OK);
    cr_assert_eq(t_await_count(&c.started, 3), 3);
    await_sleeper(&s);
    cr_assert_eq(ct_sem_release(&s, INT64_C(1) << 32), CT_OK);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
    cr_assert_eq(ct_sem_value(&s), (INT64_C(1) << 32) - 3);
}

Test(sem, release_1_lets_exactly_one_sleeper_through, .timeout = 60)
{
    ct_sem_t s = CT_SEM_INIT;
    struct sleeper_ctx c = { .s = &s };
    ct_thread_t t[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(ct_thread_start(&t[i], sleep_acquire, &c), CT_OK);
    cr_assert_eq(t_await_count(&c.started, 4), 4);
    await_sleeper(&s);
    cr_assert_eq(ct_sem_release(&s, 1), CT_OK);
    cr_assert_eq(t_await_count(&c.done, 1), 1);
    t_pause_ms(20);                     /* widens the window for a second one */
    cr_assert_eq(atomic_load(&c.done), 1);
    cr_assert_eq(ct_sem_release(&s, 2), CT_OK);
    cr_assert_eq(t_await_count(&c.done, 3), 3);
    t_pause_ms(20);
    cr_assert_eq(atomic_load(&c.done), 3);
    cr_assert_eq(ct_sem_release(&s, 5), CT_OK);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
    cr_assert_eq(ct_sem_value(&s), 4);
}

/* ---- racing releases of a bounded semaphore ---------------------------------- */
#define RACE_THREADS 16

struct race_ctx {
    ct_sem_t s;
    atomic_int go, ok_permits, overflow;
    int64_t n;
};

static void race_release(void *p)
{
    struct race_ctx *c = p;
    while (!atomic_load(&c->go))   /* yield: 16 spinners on 2 cores starve the starter */
        t_pause(CT_US(1));
    int rc = ct_sem_release(&c->s, c->n);
    if (rc == CT_OK)
        atomic_fetch_add(&c->ok_permits, (int)c->n);
    else if (rc == CT_EOVERFLOW)
        atomic_fetch_add(&c->overflow, 1);
}

Test(sem, bounded_racing_releases_never_pass_the_bound, .timeout = 300)
{
    static struct race_ctx c;
    ct_thread_t t[RACE_THREADS];
    for (int round = 0; round < 100 / STRESS_SCALE; round++) {
        memset(&c, 0, sizeof c);
        c.n = 1 + round % 3;
        cr_assert_eq(ct_sem_init_bounded(&c.s, 10), CT_OK);
        for (int i = 0; i < 10; i++)
            cr_assert(ct_sem_try_acquire(&c.s));
        for (int i = 0; i < RACE_THREADS; i++)
            cr_assert_eq(ct_thread_start(&t[i], race_release, &c), CT_OK);
        atomic_store(&c.go, 1);
        for (int i = 0; i < RACE_THREADS; i++)
            cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
        int ok = atomic_load(&c.ok_permits);
        cr_assert_eq(ok, (10 / c.n) * c.n, "round %d: %d permits released", round, ok);
        cr_assert_eq(atomic_load(&c.overflow), RACE_THREADS - 10 / (int)c.n);
        cr_assert_eq(ct_sem_value(&c.s), ok);
    }
}

/* ---- a pool guarded by a semaphore: never more holders than permits --------- */
#define POOL_THREADS 8
#define POOL_PERMITS 3
#define POOL_ITERS (20000 / STRESS_SCALE)

struct pool_ctx {
    ct_sem_t s;
    atomic_int inside, max_inside, violations;
    atomic_long acquired;
};

static void pool_worker(void *p)
{
    struct pool_ctx *c = p;
    for (int i = 0; i < POOL_ITERS; i++) {
        switch (i % 3) {
        case 0: ct_sem_acquire(&c->s); break;
        case 1: while (!ct_sem_try_acquire(&c->s)) {} break;
        default: while (ct_sem_acquire_timed(&c->s, CT_US(20)) != CT_OK) {} break;
        }
        int now = atomic_fetch_add(&c->inside, 1) + 1;
        if (now > POOL_PERMITS)
            atomic_fetch_add(&c->violations, 1);
        int m = atomic_load(&c->max_inside);
        while (now > m && !atomic_compare_exchange_weak(&c->max_inside, &m, now)) {}
        atomic_fetch_add(&c->acquired, 1);
        atomic_fetch_sub(&c->inside, 1);
        if (ct_sem_release(&c->s, 1) != CT_OK)
            atomic_fetch_add(&c->violations, 1);
    }
}

Test(sem, pool_never_more_holders_than_permits, .timeout = 300)
{
    static struct pool_ctx c;
    ct_thread_t t[POOL_THREADS];
    memset(&c, 0, sizeof c);
    cr_assert_eq(ct_sem_init_bounded(&c.s, POOL_PERMITS), CT_OK);
    for (int i = 0; i < POOL_THREADS; i++)
        cr_assert_eq(ct_thread_start(&t[i], pool_worker, &c), CT_OK);
    for (int i = 0; i < POOL_THREADS; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
    cr_assert_eq(atomic_load(&c.violations), 0);
    cr_assert_leq(atomic_load(&c.max_inside), POOL_PERMITS);
    cr_assert_eq(atomic_load(&c.acquired), (long)POOL_THREADS * POOL_ITERS);
    cr_assert_eq(ct_sem_value(&c.s), POOL_PERMITS);
}

/* ---- timed acquirers racing a releaser: permits are conserved, nobody hangs --
 * Short-timeout pollers race untimed sleepers for the permits.  The pollers
 * alone would drain every permit even if a release never woke anyone, so
 * the end is decided by the sleepers: once the pollers are gone and a
 * sleeper is parked (white-box: the SLEEPERS bit, see src/sem.c), one
 * release per sleeper must get each of them through within the bound. */
#define TIMED_THREADS 4
#define UNTIMED_THREADS 2
#define TIMED_RELEASES (20000 / STRESS_SCALE)

struct timed_ctx {
    ct_sem_t s;
    atomic_int stop, untimed_stop;
    atomic_long taken, untimed_taken;
};

static void timed_taker(void *p)
{
    struct timed_ctx *c = p;
    unsigned x = 12345;
    while (!atomic_load(&c->stop)) {
        x = x * 1103515245u + 12345u;
        int64_t to = (x >> 16) % 4 == 0 ? 0 : CT_US((x >> 16) % 50);
        if (ct_sem_acquire_timed(&c->s, to) == CT_OK)
            atomic_fetch_add(&c->taken, 1);
    }
}

/* Takes with no timeout until told to stop (every take is counted, the one
 * that sees the stop too). */
static void untimed_taker(void *p)
{
    struct timed_ctx *c = p;
    do {
        if (ct_sem_acquire(&c->s) != CT_OK)
            return;                 /* taken stays short: the test fails */
        atomic_fetch_add(&c->taken, 1);
        atomic_fetch_add(&c->untimed_taken, 1);
    } while (!atomic_load(&c->untimed_stop));
}

Test(sem, timed_acquirers_conserve_permits, .timeout = 300)
{
    static struct timed_ctx c;
    ct_thread_t t[TIMED_THREADS], u[UNTIMED_THREADS];
    long released = 0;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < UNTIMED_THREADS; i++)
        cr_assert_eq(ct_thread_start(&u[i], untimed_taker, &c), CT_OK);
    for (int i = 0; i < TIMED_THREADS; i++)
        cr_assert_eq(ct_thread_start(&t[i], timed_taker, &c), CT_OK);
    for (int i = 0; i < TIMED_RELEASES; i++) {
        int64_t n = 1 + i % 4;
        cr_assert_eq(ct_sem_release(&c.s, n), CT_OK);
        released += n;
        if (i % 64 == 0)
            t_pause(CT_US(20));  /* let sleepers pile up */
    }
    /* Every permit released must be taken. */
    int64_t end = t_now() + CT_SEC(60);
    while (atomic_load(&c.taken) < released && t_now() < end)
        t_pause(CT_US(200));
    atomic_store(&c.stop, 1);
    for (int i = 0; i < TIMED_THREADS; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
    cr_assert_eq(atomic_load(&c.taken) + ct_sem_value(&c.s), released);
    cr_assert_eq(ct_sem_value(&c.s), 0, "permits left behind");
    cr_assert_gt(atomic_load(&c.untimed_taken), 0, "the untimed takers never got a permit");
    /* Only the untimed takers are left, and they cannot miss a release:
     * wait until one is parked, then release one permit per taker. */
    end = t_now() + CT_SEC(30);
    while (!sem_has_sleepers(&c.s) && t_now() < end)
        t_pause(CT_US(100));
    cr_assert(sem_has_sleepers(&c.s), "no untimed taker went to sleep");
    atomic_store(&c.untimed_stop, 1);
    cr_assert_eq(ct_sem_release(&c.s, UNTIMED_THREADS), CT_OK);
    for (int i = 0; i < UNTIMED_THREADS; i++)
        cr_assert_eq(ct_thread_join(&u[i], T_SLACK), CT_OK,
                     "a parked untimed taker missed the release");
    cr_assert_eq(atomic_load(&c.taken), released + UNTIMED_THREADS);
    cr_assert_eq(ct_sem_value(&c.s), 0);
}

/* ---- untimed sleepers and batched releases: nobody is stranded -------------- */
#define STRAND_THREADS 6
#define STRAND_EACH (3000 / STRESS_SCALE)

static void strand_taker(void *p)
{
    ct_sem_t *s = p;
    for (int i = 0; i < STRAND_EACH; i++)
        ct_sem_acquire(s);
}

Test(sem, batched_releases_reach_every_sleeper, .timeout = 300)
{
    static ct_sem_t s;
    ct_thread_t t[STRAND_THREADS];
    long total = (long)STRAND_THREADS * STRAND_EACH, released = 0;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < STRAND_THREADS; i++)
        cr_assert_eq(ct_thread_start(&t[i], strand_taker, &s), CT_OK);
    for (int i = 0; released < total; i++) {
        int64_t n = 1 + i % 7;
        if (n > total - released)
            n = total - released;
        cr_assert_eq(ct_sem_release(&s, n), CT_OK);
        released += n;
        if (i % 16 == 0)
            t_pause(CT_US(50));
    }
    for (int i = 0; i < STRAND_THREADS; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
    cr_assert_eq(ct_sem_value(&s), 0);
}

/* Permits carry data: what the releaser wrote is visible to the taker. */
struct handoff { ct_sem_t full, empty; long slot; long sum; };

static void consumer(void *p)
{
    struct handoff *h = p;
    for (int i = 1; i <= 2000; i++) {
        ct_sem_acquire(&h->full);
        h->sum += h->slot;
        ct_sem_release(&h->empty, 1);
    }
}

Test(sem, release_publishes_writes_to_the_acquirer, .timeout = 120)
{
    static struct handoff h;
    ct_thread_t t;
    memset(&h, 0, sizeof h);
    cr_assert_eq(ct_sem_init_bounded(&h.empty, 1), CT_OK);
    cr_assert_eq(ct_thread_start(&t, consumer, &h), CT_OK);
    for (int i = 1; i <= 2000; i++) {
        ct_sem_acquire(&h.empty);
        h.slot = i;
        ct_sem_release(&h.full, 1);
    }
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(h.sum, 2000L * 2001 / 2);
}

/* White-box: sleepers wait on the 32-bit half of `state` that holds bit 63,
 * which src/sem.c finds with CT__LITTLE_ENDIAN (internal/platform.h).  The
 * macro must name the byte order this CPU really has, or a sleeper would
 * wait on the value half and spin instead of sleeping. */
Test(sem, byte_order_macro_finds_the_half_holding_bit_63)
{
    uint64_t word = SLEEPERS;
    uint32_t halves[2];
    memcpy(halves, &word, sizeof halves);
    int expected = SLEEP_HALF_INDEX;
    cr_assert_eq(halves[expected], SLEEP_HALF_EXPECTED,
                 "CT__LITTLE_ENDIAN=%d but half %d is %#x", CT__LITTLE_ENDIAN, expected,
                 (unsigned)halves[expected]);
    cr_assert_eq(halves[1 - expected], 0u);
}
