/* Misuse that is cheap to detect (API.md: a zeroed object returns CT_EINVAL,
 * never hangs, never touches another object) and ct_local_destroy called from
 * thread-exit destructors (issue 13, items 4 and 5).  Each test failed on the
 * code before the fix: the zeroed key wrote into the first real key's value,
 * the zeroed barrier hung (Release) or asserted (Debug), ct_gil_destroy tore
 * down a held GIL under a waiter, and a destroy inside an exit destructor
 * deadlocked the exiting thread. */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include "ct_test.h"
#include "helpers.h"
#include "internal/gil.h"   /* white-box: the GIL state bits */

/* ---- Local: a zeroed key -------------------------------------------------------- */

static void count_visit(void *value, void *arg)
{
    (void)value;
    (*(int *)arg)++;
}

Test(misuse, zeroed_local_key_touches_no_other_key)
{
    ct_local_t real, zero;
    int calls = 0;

    memset(&zero, 0, sizeof zero);
    cr_assert_eq(ct_local_init(&real, NULL, NULL, NULL), CT_OK);
    cr_assert_eq(ct_local_set(&real, (void *)(uintptr_t)0x1111), CT_OK);

    cr_assert_eq(ct_local_set(&zero, (void *)(uintptr_t)0x2222), CT_EINVAL);
    cr_assert_null(ct_local_get(&zero));
    ct_local_foreach(&zero, count_visit, &calls);
    cr_assert_eq(calls, 0, "a zeroed key has no values to visit");
    ct_local_destroy(&zero);                  /* does nothing */
    cr_assert_eq((uintptr_t)ct_local_get(&real), 0x1111u, "the real key's value is untouched");
    cr_assert_neq(real.id, 0u, "key ids start at 1, so a zeroed key is detectable");

    /* A destroyed key is unusable too, and never reaches the key that
     * reuses its id. */
    ct_local_destroy(&real);
    {
        ct_local_t next;
        cr_assert_eq(ct_local_init(&next, NULL, NULL, NULL), CT_OK);
        cr_assert_eq(ct_local_set(&next, (void *)(uintptr_t)0x3333), CT_OK);
        cr_assert_eq(ct_local_set(&real, (void *)(uintptr_t)0x4444), CT_EINVAL);
        cr_assert_null(ct_local_get(&real));
        cr_assert_eq((uintptr_t)ct_local_get(&next), 0x3333u);
        ct_local_destroy(&next);
    }
}

/* ---- Barrier: a zeroed barrier ------------------------------------------------------- */

Test(misuse, zeroed_barrier_returns_einval, .timeout = 30)
{
    ct_barrier_t b;
    int64_t t0;

    memset(&b, 0, sizeof b);
    t0 = t_now();
    cr_assert_eq(ct_barrier_wait_timed(&b, CT_MS(200)), CT_EINVAL);
    cr_assert_eq(ct_barrier_wait(&b), CT_EINVAL);
    cr_assert_eq(ct_barrier_wait_timed(&b, 0), CT_EINVAL);
    cr_assert_lt(t_now() - t0, T_SLACK, "returns at once, never waits");
    cr_assert_eq(b.state, 0u, "nothing changed");
    cr_assert_eq(ct_barrier_n_waiting(&b), 0u);
}

/* ---- GIL: destroy while in use ---------------------------------------------------------- */

struct gil_user {
    ct_gil_t *g;
    atomic_int holding, release_now, got, release_rc, got_rc;
};

static void gil_holder(void *p)
{
    struct gil_user *u = p;
    ct_gil_acquire(u->g);
    atomic_store(&u->holding, 1);
    t_await(&u->release_now, CT_SEC(60));
    atomic_store(&u->release_rc, ct_gil_release(u->g) + 100);
}

static void gil_waiter(void *p)
{
    struct gil_user *u = p;
    ct_gil_acquire(u->g);
    atomic_store(&u->got, 1);
    atomic_store(&u->got_rc, ct_gil_release(u->g) + 100);
}

static bool gil_queued(ct_gil_t *g)            /* white-box: the QUEUED bit */
{
    return (atomic_load((_Atomic uint32_t *)&ct__gil_of(g)->state) & CT__GIL_QUEUED) != 0;
}

Test(misuse, gil_destroy_in_use_is_ebusy, .timeout = 60)
{
    ct_gil_t g;
    struct gil_user u = { .g = &g };
    ct_thread_t holder, waiter;
    int64_t end;

    cr_assert_eq(ct_gil_init(&g, CT_GIL_CLASSIC), CT_OK);
    cr_assert_eq(ct_thread_start(&holder, gil_holder, &u), CT_OK);
    cr_assert(t_await(&u.holding, CT_SEC(30)));
    /* Held by another thread, nobody waiting. */
    cr_assert_eq(ct_gil_destroy(&g), CT_EBUSY);
    cr_assert_eq(ct_thread_start(&waiter, gil_waiter, &u), CT_OK);
    end = t_now() + CT_SEC(30);
    while (!gil_queued(&g) && t_now() < end)
        t_pause_ms(1);
    cr_assert(gil_queued(&g));
    /* Held and waited for. */
    cr_assert_eq(ct_gil_destroy(&g), CT_EBUSY);
    cr_assert_eq(atomic_load(&u.got), 0, "the waiter must not get the GIL");
    atomic_store(&u.release_now, 1);
    cr_assert_eq(ct_thread_join(&holder, CT_SEC(30)), CT_OK);
    cr_assert_eq(ct_thread_join(&waiter, CT_SEC(30)), CT_OK);
    cr_assert_eq(atomic_load(&u.release_rc), CT_OK + 100, "the holder's release works");
    cr_assert_eq(atomic_load(&u.got_rc), CT_OK + 100, "the waiter got a live GIL");
    /* Free again: destroy works; held by the caller: destroy works too. */
    cr_assert_eq(ct_gil_destroy(&g), CT_OK);
    cr_assert_eq(ct_gil_init(&g, CT_GIL_PRIORITY), CT_OK);
    cr_assert_eq(ct_gil_acquire(&g), CT_OK);
    cr_assert_eq(ct_gil_destroy(&g), CT_OK);
}

/* ---- Local: ct_local_destroy from thread-exit destructors ------------------------------- */

struct exit_case {
    ct_local_t a, b;             /* b's destructor destroys a (or a its own key) */
    bool own;                    /* a's destructor destroys a */
    atomic_int a_dtors, b_dtors, destroyed;
    int a_value, b_value;
};

static struct exit_case *the_case;

static void a_dtor(void *v)
{
    struct exit_case *c = the_case;
    cr_assert_eq(v, &c->a_value);
    atomic_fetch_add(&c->a_dtors, 1);
    if (c->own) {
        ct_local_destroy(&c->a);
        atomic_store(&c->destroyed, 1);
    }
}

static void b_dtor(void *v)
{
    struct exit_case *c = the_case;
    (void)v;
    atomic_fetch_add(&c->b_dtors, 1);
    if (!c->own) {
        ct_local_destroy(&c->a);
        atomic_store(&c->destroyed, 1);
    }
}

static void exit_thread(void *p)
{
    struct exit_case *c = p;
    ct_local_set(&c->a, &c->a_value);
    ct_local_set(&c->b, &c->b_value);
}

/* order 0: a gets the lower id; 1: b does (so both "a's value already
 * destroyed" and "a's value still pending" are covered). */
static void run_exit_case(bool own, int order)
{
    static struct exit_case c;
    ct_thread_t t;

    memset(&c, 0, sizeof c);
    c.own = own;
    the_case = &c;
    if (order == 0) {
        cr_assert_eq(ct_local_init(&c.a, NULL, a_dtor, NULL), CT_OK);
        cr_assert_eq(ct_local_init(&c.b, NULL, b_dtor, NULL), CT_OK);
    } else {
        cr_assert_eq(ct_local_init(&c.b, NULL, b_dtor, NULL), CT_OK);
        cr_assert_eq(ct_local_init(&c.a, NULL, a_dtor, NULL), CT_OK);
    }
    cr_assert_eq(ct_thread_start(&t, exit_thread, &c), CT_OK);
    /* The exiting thread destroys a key in its exit destructors: that must
     * return (it used to wait for its own pending destructor for ever). */
    cr_assert(t_await(&c.destroyed, CT_SEC(30)), "ct_local_destroy in an exit destructor "
              "returned (own=%d order=%d)", own, order);
    cr_assert_eq(ct_thread_join(&t, CT_SEC(30)), CT_OK);
    cr_assert_eq(atomic_load(&c.a_dtors), 1, "a's value destroyed exactly once");
    cr_assert_eq(atomic_load(&c.b_dtors), 1, "b's value destroyed exactly once");
    ct_local_destroy(&c.b);
    /* The ids are reusable and start empty. */
    {
        ct_local_t k1, k2;
        cr_assert_eq(ct_local_init(&k1, NULL, NULL, NULL), CT_OK);
        cr_assert_eq(ct_local_init(&k2, NULL, NULL, NULL), CT_OK);
        cr_assert_null(ct_local_get(&k1));
        cr_assert_null(ct_local_get(&k2));
        ct_local_destroy(&k1);
        ct_local_destroy(&k2);
    }
}

Test(misuse, local_destroy_own_key_in_exit_destructor, .timeout = 60)
{
    run_exit_case(true, 0);
    run_exit_case(true, 1);
}

Test(misuse, local_destroy_other_key_in_exit_destructor, .timeout = 60)
{
    run_exit_case(false, 0);
    run_exit_case(false, 1);
}
