/* ct_once: exactly once under racing callers, retry after a failed run. */
#include "ct_test.h"
#include "helpers.h"

Test(once, is_four_bytes_and_zero_is_not_run)
{
    ct_once_t o = CT_ONCE_INIT, z;
    memset(&z, 0, sizeof z);
    cr_assert_eq(sizeof(ct_once_t), 4u);
    cr_assert_eq(memcmp(&o, &z, sizeof o), 0);
}

static atomic_int plain_runs;
static int count_run(void *p) { atomic_fetch_add(&plain_runs, 1); *(int *)p = 7; return 0; }

Test(once, runs_fn_once_then_costs_nothing)
{
    ct_once_t o = CT_ONCE_INIT;
    int value = 0;
    atomic_store(&plain_runs, 0);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(ct_once(&o, count_run, &value), CT_OK);
    cr_assert_eq(atomic_load(&plain_runs), 1);
    cr_assert_eq(value, 7);
}

/* 16 threads released at once through a gate; fn is slow enough that the
 * others arrive while it runs and must wait for it. */
enum { RACERS = 16 };
struct race {
    ct_once_t once;
    uint32_t gate;
    atomic_int runs, failures_left, ready;
    int value;                 /* written by fn, read by every caller after CT_OK */
    int rc[RACERS], seen[RACERS];
};

static int slow_init(void *p)
{
    struct race *r = p;
    atomic_fetch_add(&r->runs, 1);
    ct_sleep(CT_MS(20));
    if (atomic_fetch_sub(&r->failures_left, 1) > 0)
        return 42;
    r->value = 1234;
    return 0;
}

struct racer { struct race *r; int i; };
static void racer_main(void *p)
{
    struct racer *me = p;
    struct race *r = me->r;
    atomic_fetch_add(&r->ready, 1);
    while (__atomic_load_n(&r->gate, __ATOMIC_ACQUIRE) == 0)
        (void)ct_wait(&r->gate, 0, CT_FOREVER);
    me->r->rc[me->i] = ct_once(&r->once, slow_init, r);
    me->r->seen[me->i] = me->r->rc[me->i] == CT_OK ? r->value : -1;
}

static void race(struct race *r, int failures)
{
    ct_thread_t t[RACERS];
    struct racer who[RACERS];

    memset(r, 0, sizeof *r);
    atomic_store(&r->failures_left, failures);
    for (int i = 0; i < RACERS; i++) {
        who[i] = (struct racer){ r, i };
        cr_assert_eq(ct_thread_start(&t[i], racer_main, &who[i]), CT_OK);
    }
    cr_assert_eq(t_await_count(&r->ready, RACERS), RACERS);
    __atomic_store_n(&r->gate, 1, __ATOMIC_RELEASE);
    ct_wake_all(&r->gate);
    for (int i = 0; i < RACERS; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
}

Test(once, sixteen_racing_threads_run_fn_exactly_once, .timeout = 120)
{
    static struct race r;
    race(&r, 0);
    cr_assert_eq(atomic_load(&r.runs), 1);
    for (int i = 0; i < RACERS; i++) {
        cr_assert_eq(r.rc[i], CT_OK);
        cr_assert_eq(r.seen[i], 1234, "caller %d saw fn's write", i);
    }
}

Test(once, a_failing_fn_returns_its_code_and_the_next_caller_retries, .timeout = 120)
{
    static struct race r;
    race(&r, 1);
    int failed = 0;
    for (int i = 0; i < RACERS; i++) {
        if (r.rc[i] == 42)
            failed++;
        else {
            cr_assert_eq(r.rc[i], CT_OK);
            cr_assert_eq(r.seen[i], 1234);
        }
    }
    cr_assert_eq(failed, 1, "only the failed run's caller sees its code");
    cr_assert_eq(atomic_load(&r.runs), 2, "one failed run, one successful retry");
}

static int fail_with(void *p) { return *(int *)p; }

Test(once, sequential_failures_then_success)
{
    ct_once_t o = CT_ONCE_INIT;
    int code = CT_EAGAIN;
    cr_assert_eq(ct_once(&o, fail_with, &code), CT_EAGAIN);
    code = 5;
    cr_assert_eq(ct_once(&o, fail_with, &code), 5);
    code = 0;
    cr_assert_eq(ct_once(&o, fail_with, &code), CT_OK);
    code = 9;
    cr_assert_eq(ct_once(&o, fail_with, &code), CT_OK, "done: fn is not called again");
}
