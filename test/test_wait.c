/* The wait-on-address layer: ct_wait / ct_wake_one / ct_wake_all. */
#include "ct_test.h"
#include "helpers.h"

Test(wait, value_mismatch_returns_at_once)
{
    uint32_t word = 1;
    int64_t t0 = t_now();
    cr_assert_eq(ct_wait(&word, 0, CT_FOREVER), CT_OK);
    cr_assert_eq(ct_wait(&word, 2, CT_SEC(100)), CT_OK);
    cr_assert_lt(t_now() - t0, T_SLACK);
}

Test(wait, zero_timeout_polls)
{
    uint32_t word = 5;
    cr_assert_eq(ct_wait(&word, 5, 0), CT_ETIMEDOUT);
    cr_assert_eq(ct_wait(&word, 4, 0), CT_OK);
}

Test(wait, timeout_is_not_shortened)
{
    uint32_t word = 0;
    for (int i = 0; i < 5; i++) {
        int64_t t0 = t_now();
        cr_assert_eq(ct_wait(&word, 0, CT_MS(20)), CT_ETIMEDOUT);
        int64_t took = t_now() - t0;
        cr_assert_geq(took, CT_MS(20), "woke %lld ns early", (long long)(CT_MS(20) - took));
        cr_assert_lt(took, CT_MS(20) + T_SLACK);
    }
}

Test(wait, bad_timeouts)
{
    uint32_t word = 0;
    cr_assert_eq(ct_wait(&word, 0, -5), CT_EINVAL);
    cr_assert_eq(ct_wait(&word, 0, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
}

Test(wait, wake_without_waiters_is_harmless)
{
    uint32_t word = 0;
    ct_wake_one(&word);
    ct_wake_all(&word);
    cr_assert_eq(word, 0u);
}

#define WAITERS 4

struct wake_ctx {
    uint32_t word;
    atomic_int announced;
    atomic_int returned;
    int rc[WAITERS];
};

struct wake_arg { struct wake_ctx *c; int i; };

static void waiter_main(void *p)
{
    struct wake_arg *a = p;
    atomic_fetch_add(&a->c->announced, 1);
    a->c->rc[a->i] = ct_wait(&a->c->word, 0, CT_SEC(60));
    atomic_fetch_add(&a->c->returned, 1);
}

/* The word never changes, so every return is a wake (the futex and parking
 * backends have no spurious returns without signals): at no time may more
 * waiters have returned than wake_one calls were made. */
Test(wait, wake_one_wakes_at_most_one, .timeout = 120)
{
    struct wake_ctx c = { .word = 0 };
    struct wake_arg args[WAITERS];
    ct_thread_t t[WAITERS];
    int wakes = 0;

    for (int i = 0; i < WAITERS; i++) {
        args[i] = (struct wake_arg){ &c, i };
        cr_assert_eq(ct_thread_start(&t[i], waiter_main, &args[i]), CT_OK);
    }
    while (atomic_load(&c.returned) < WAITERS) {
        int before = atomic_load(&c.returned);
        ct_wake_one(&c.word);
        wakes++;
        /* Give the woken thread time to report; a wake that found nobody
         * asleep yet is simply repeated. */
        int64_t end = t_now() + CT_MS(200);
        while (atomic_load(&c.returned) == before && t_now() < end)
            t_pause(CT_US(100));
        cr_assert_leq(atomic_load(&c.returned), wakes);
    }
    for (int i = 0; i < WAITERS; i++) {
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
        cr_assert_eq(c.rc[i], CT_OK);
    }
}

/* One ct_wake_all after the word changed must release every waiter, whether
 * it was already asleep (woken) or not yet (sees the new value): a wake_all
 * that woke only some would leave the rest to their 60 s timeout. */
Test(wait, wake_all_wakes_every_waiter, .timeout = 120)
{
    for (int round = 0; round < 20; round++) {
        struct wake_ctx c = { .word = 0 };
        struct wake_arg args[WAITERS];
        ct_thread_t t[WAITERS];

        for (int i = 0; i < WAITERS; i++) {
            args[i] = (struct wake_arg){ &c, i };
            cr_assert_eq(ct_thread_start(&t[i], waiter_main, &args[i]), CT_OK);
        }
        while (atomic_load(&c.announced) < WAITERS)
            t_pause(CT_US(100));
        if (round % 2)
            t_pause(CT_MS(5)); /* widen: let them fall asleep */
        __atomic_store_n(&c.word, 1, __ATOMIC_RELEASE);
        ct_wake_all(&c.word);
        for (int i = 0; i < WAITERS; i++) {
            cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
            cr_assert_eq(c.rc[i], CT_OK, "waiter %d was not woken", i);
        }
    }
}
