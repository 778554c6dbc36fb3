/* The OS layer (src/platform/os.h), white-box: per-thread slots and their
 * thread-exit destructors (pthread keys on POSIX, FLS callbacks on Windows),
 * and the monotonic clock. */
#include "ct_test.h"
#include "helpers.h"
#include "platform/os.h"

/* Two slots with different destructors, created once per process (slots are
 * never freed and the OS has a limited number): every destructor call is
 * logged with the slot it came from, the value and the calling thread. */
#define LOG_MAX 16

struct dtor_call { int slot; void *value; uint64_t ident; };

static ct__os_tls_t slot_a, slot_b;
static struct dtor_call dtor_log[LOG_MAX];
static atomic_int dtor_calls;

static void log_call(int slot, void *value)
{
    int i = atomic_fetch_add(&dtor_calls, 1);
    if (i < LOG_MAX)
        dtor_log[i] = (struct dtor_call){ slot, value, ct_thread_ident() };
}
static void dtor_a(void *value) { log_call('a', value); }
static void dtor_b(void *value) { log_call('b', value); }

static void setup_slots(void)
{
    static int created;
    if (!created) {
        cr_assert_eq(ct__os_tls_create(&slot_a, dtor_a), CT_OK);
        cr_assert_eq(ct__os_tls_create(&slot_b, dtor_b), CT_OK);
        created = 1;
    }
    atomic_store(&dtor_calls, 0);
}

struct worker {
    int set_a, set_b, clear_a;      /* what the thread does */
    void *seen_a, *seen_b;          /* what it read first */
    void *after_a;                  /* what it read back after setting */
    uint64_t ident;
    int rc;
};

static int value_a, value_b;         /* their addresses are the values */

static void worker_main(void *p)
{
    struct worker *w = p;
    w->ident = ct_thread_ident();
    w->seen_a = ct__os_tls_get(&slot_a);
    w->seen_b = ct__os_tls_get(&slot_b);
    if (w->set_a)
        w->rc |= ct__os_tls_set(&slot_a, &value_a);
    if (w->set_b)
        w->rc |= ct__os_tls_set(&slot_b, &value_b);
    w->after_a = ct__os_tls_get(&slot_a);
    if (w->clear_a)
        w->rc |= ct__os_tls_set(&slot_a, NULL);
}

static void run_worker(struct worker *w)
{
    ct_thread_t t;
    cr_assert_eq(ct_thread_start(&t, worker_main, w), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(w->rc, CT_OK);
}

Test(os, tls_values_are_per_thread)
{
    int mine;
    setup_slots();
    cr_assert_eq(ct__os_tls_set(&slot_a, &mine), CT_OK);
    cr_assert_eq(ct__os_tls_get(&slot_a), (void *)&mine);

    struct worker w = { .set_a = 1 };
    run_worker(&w);
    cr_assert_null(w.seen_a, "a new thread starts with NULL");
    cr_assert_null(w.seen_b);
    cr_assert_eq(w.after_a, (void *)&value_a);
    cr_assert_eq(ct__os_tls_get(&slot_a), (void *)&mine, "the other thread's set leaked");

    cr_assert_eq(ct__os_tls_set(&slot_a, NULL), CT_OK);
    cr_assert_null(ct__os_tls_get(&slot_a));
    atomic_store(&dtor_calls, 0);
}

/* The destructor of the right slot runs once, with the stored value, on the
 * exiting thread, and before the join returns. */
Test(os, tls_destructor_runs_on_the_exiting_thread)
{
    setup_slots();
    struct worker w = { .set_a = 1 };
    run_worker(&w);
    cr_assert_eq(atomic_load(&dtor_calls), 1);
    cr_assert_eq(dtor_log[0].slot, 'a');
    cr_assert_eq(dtor_log[0].value, (void *)&value_a);
    cr_assert_eq(dtor_log[0].ident, w.ident, "destructor ran on another thread");
}

Test(os, tls_each_slot_gets_its_own_destructor)
{
    setup_slots();
    struct worker w = { .set_a = 1, .set_b = 1 };
    run_worker(&w);
    cr_assert_eq(atomic_load(&dtor_calls), 2);
    int a = dtor_log[0].slot == 'a' ? 0 : 1;      /* the order is unspecified */
    cr_assert_eq(dtor_log[a].slot, 'a');
    cr_assert_eq(dtor_log[a].value, (void *)&value_a);
    cr_assert_eq(dtor_log[1 - a].slot, 'b');
    cr_assert_eq(dtor_log[1 - a].value, (void *)&value_b);
}

Test(os, tls_no_destructor_for_null_values)
{
    setup_slots();
    struct worker untouched = { 0 };
    run_worker(&untouched);
    struct worker cleared = { .set_a = 1, .clear_a = 1 };
    run_worker(&cleared);
    cr_assert_eq(atomic_load(&dtor_calls), 0);
}

Test(os, tls_destructors_run_for_many_threads, .timeout = 60)
{
    enum { N = 8 };
    struct worker w[N];
    ct_thread_t t[N];

    setup_slots();
    for (int i = 0; i < N; i++) {
        w[i] = (struct worker){ .set_b = 1 };
        cr_assert_eq(ct_thread_start(&t[i], worker_main, &w[i]), CT_OK);
    }
    for (int i = 0; i < N; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
    cr_assert_eq(atomic_load(&dtor_calls), N);
    for (int i = 0; i < N; i++) {
        int found = 0;
        for (int j = 0; j < N; j++)
            found += dtor_log[j].ident == w[i].ident && dtor_log[j].slot == 'b';
        cr_assert_eq(found, 1, "thread %d: %d destructor calls", i, found);
    }
}

Test(os, clock_is_monotonic_and_advances)
{
    int64_t prev = t_now(), start = prev;
    for (int i = 0; i < 100000; i++) {
        int64_t now = t_now();
        cr_assert_geq(now, prev, "clock went back by %lld ns", (long long)(prev - now));
        prev = now;
    }
    /* A 10 ms timed wait is measured as at least 10 ms by the same clock. */
    uint32_t word = 0;
    int64_t t0 = t_now();
    cr_assert_eq(ct_wait(&word, 0, CT_MS(10)), CT_ETIMEDOUT);
    cr_assert_geq(t_now() - t0, CT_MS(10));
    cr_assert_gt(t_now(), start);
}
