/* Threads: start, join with timeout, identity. */
#include "ct_test.h"
#include "helpers.h"

static void set_flag(void *p) { atomic_store((atomic_int *)p, 1); }

Test(thread, start_and_join)
{
    atomic_int flag = 0;
    ct_thread_t t;
    cr_assert_eq(ct_thread_start(&t, set_flag, &flag), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(atomic_load(&flag), 1);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_EPERM, "second join");
}

static void block_on_lock(void *p)
{
    ct_lock_t *l = p;
    ct_lock_acquire(l);
    ct_lock_release(l);
}

Test(thread, join_times_out_while_running)
{
    ct_lock_t l = CT_LOCK_INIT;
    ct_thread_t t;
    ct_lock_acquire(&l);
    cr_assert_eq(ct_thread_start(&t, block_on_lock, &l), CT_OK);
    cr_assert_eq(ct_thread_join(&t, 0), CT_ETIMEDOUT);
    int64_t t0 = t_now();
    cr_assert_eq(ct_thread_join(&t, CT_MS(30)), CT_ETIMEDOUT);
    cr_assert_geq(t_now() - t0, CT_MS(30));
    cr_assert_eq(ct_thread_join(&t, -7), CT_EINVAL);
    cr_assert_eq(ct_thread_join(&t, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
    ct_lock_release(&l);
    cr_assert_eq(ct_thread_join(&t, CT_SEC(60)), CT_OK);
}

static void record_ident(void *p) { *(uint64_t *)p = ct_thread_ident(); }

Test(thread, ident_is_stable_unique_and_never_reused)
{
    enum { N = 200 };
    static uint64_t ids[N];
    uint64_t me = ct_thread_ident();

    cr_assert_neq(me, 0u);
    cr_assert_eq(ct_thread_ident(), me);
    /* Sequential threads: the OS may reuse thread ids, we must not. */
    for (int i = 0; i < N; i++) {
        ct_thread_t t;
        cr_assert_eq(ct_thread_start(&t, record_ident, &ids[i]), CT_OK);
        cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
        cr_assert_neq(ids[i], 0u);
        cr_assert_neq(ids[i], me);
        for (int j = 0; j < i; j++)
            cr_assert_neq(ids[i], ids[j], "ident reused");
    }
}
