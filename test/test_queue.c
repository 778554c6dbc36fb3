/* Queue, LifoQueue, PriorityQueue: CPython's test_queue behaviours (order,
 * bounds, nowait/timeouts, task_done/join, 3.13 shutdown in both modes), the
 * C-only edges (bad kinds, bad timeouts checked first, CT_ENOMEM leaving the
 * queue unchanged, destroy while blocked), and what the design promises: a
 * put wakes exactly the getter it feeds, blocked getters and putters are
 * served in arrival order, every item is delivered exactly once under load.
 * White-box where a count must be exact (internal/queue.h). */
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/resource.h>
#endif
#include "ct_test.h"
#include "helpers.h"
#include "internal/queue.h"

#define ITEM(i) ((void *)(uintptr_t)(i))
#define NUM(p) ((uintptr_t)(p))

static int cmp_num(const void *a, const void *b)
{
    uintptr_t x = NUM(a), y = NUM(b);
    return (x > y) - (x < y);
}

/* Waits until `n` callers are blocked in the given list of q (30 s bound). */
static size_t await_blocked(ct_queue_t *q, enum ct__queue_list which, size_t n)
{
    int64_t end = t_now() + CT_SEC(30);
    size_t k;
    while ((k = ct__queue_blocked(q, which)) != n && t_now() < end)
        t_pause_ms(1);
    return k;
}

/* ---- zero-initialised, init ----------------------------------------------------------- */

Test(queue, zero_initialised_is_an_unbounded_fifo)
{
    ct_queue_t q;
    ct_queue_t qi = CT_QUEUE_INIT;
    void *item;

    memset(&q, 0, sizeof q);
    cr_assert(ct_queue_empty(&q));
    cr_assert_not(ct_queue_full(&q));
    cr_assert_eq(ct_queue_get(&q, &item, 0), CT_ETIMEDOUT);
    for (uintptr_t i = 0; i < 1000; i++)
        cr_assert_eq(ct_queue_put(&q, ITEM(i), 0), CT_OK, "unbounded: never full");
    cr_assert_eq(ct_queue_qsize(&q), 1000u);
    cr_assert_not(ct_queue_full(&q));
    for (uintptr_t i = 0; i < 1000; i++) {
        cr_assert_eq(ct_queue_get(&q, &item, 0), CT_OK);
        cr_assert_eq(NUM(item), i, "FIFO order");
    }
    cr_assert(ct_queue_empty(&q));
    cr_assert_eq(ct_queue_destroy(&q), CT_OK);

    cr_assert_eq(ct_queue_put(&qi, NULL, CT_FOREVER), CT_OK, "NULL is an item");
    item = ITEM(7);
    cr_assert_eq(ct_queue_get(&qi, &item, CT_FOREVER), CT_OK);
    cr_assert_null(item);
    cr_assert_eq(ct_queue_destroy(&qi), CT_OK);
}

Test(queue, init_rejects_bad_kinds_and_leaves_the_queue_unchanged)
{
    ct_queue_t q, before;
    void *item;

    cr_assert_eq(ct_queue_init(&q, CT_QUEUE_LIFO, 4, NULL), CT_OK);
    cr_assert_eq(ct_queue_put(&q, ITEM(1), 0), CT_OK);
    memcpy(&before, &q, sizeof q);
    cr_assert_eq(ct_queue_init(&q, 3, 0, NULL), CT_EINVAL);
    cr_assert_eq(ct_queue_init(&q, -1, 0, cmp_num), CT_EINVAL);
    cr_assert_eq(ct_queue_init(&q, CT_QUEUE_PRIORITY, 0, NULL), CT_EINVAL, "cmp required");
    cr_assert(memcmp(&before, &q, sizeof q) == 0, "a failed init changed the queue");
    cr_assert_eq(ct_queue_get(&q, &item, 0), CT_OK);
    cr_assert_eq(NUM(item), 1u);
    cr_assert_eq(ct_queue_destroy(&q), CT_OK);
}

Test(queue, a_queue_with_a_bad_kind_fails_every_call_with_einval)
{
    ct_queue_t q;
    void *item = ITEM(5);

    memset(&q, 0, sizeof q);
    ct__queue_of(&q)->kind = 9;          /* white-box: internal/queue.h */
    cr_assert_eq(ct_queue_put(&q, ITEM(1), 0), CT_EINVAL);
    cr_assert_eq(ct_queue_put(&q, ITEM(1), CT_FOREVER), CT_EINVAL, "never hangs");
    cr_assert_eq(ct_queue_get(&q, &item, CT_FOREVER), CT_EINVAL, "never hangs");
    cr_assert_eq(NUM(item), 5u, "item untouched");
    cr_assert_eq(ct_queue_task_done(&q), CT_EINVAL);
    cr_assert_eq(ct_queue_join(&q, CT_FOREVER), CT_EINVAL);
    cr_assert_eq(ct_queue_shutdown(&q, true), CT_EINVAL);
    cr_assert_eq(ct_queue_qsize(&q), 0u);
    cr_assert_not(ct_queue_full(&q));
    cr_assert_eq(ct_queue_destroy(&q), CT_EINVAL);
    ct__queue_of(&q)->kind = CT_QUEUE_PRIORITY;   /* priority without cmp: same */
    cr_assert_eq(ct_queue_put(&q, ITEM(1), 0), CT_EINVAL);
    cr_assert_eq(ct_queue_get(&q, &item, 0), CT_EINVAL);
}

/* ---- order ---------------------------------------------------------------------------------- */

/* Random puts and gets against a model array, across growth and ring wrap. */
static void order_against_model(int kind, size_t maxsize)
{
    ct_queue_t q;
    uintptr_t model[4096];
    size_t n = 0, next = 1;
    uint64_t rng = 88172645463325252u;
    void *item;

    cr_assert_eq(ct_queue_init(&q, kind, maxsize, cmp_num), CT_OK);
    for (int step = 0; step < 20000; step++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        bool put = (rng % 100) < (step < 10000 ? 60u : 40u);
        if (put) {
            /* PRIORITY: distinct keys in random order, so the order is total */
            uintptr_t v = kind == CT_QUEUE_PRIORITY ? (uintptr_t)((rng >> 20) % 1000000) * 65536 + next
                                                    : next;
            next++;
            int rc = ct_queue_put(&q, ITEM(v), 0);
            if (maxsize && n == maxsize) {
                cr_assert_eq(rc, CT_ETIMEDOUT, "put_nowait on a full queue");
                continue;
            }
            cr_assert_eq(rc, CT_OK);
            cr_assert_lt(n, sizeof model / sizeof model[0], "model full");
            model[n++] = v;
        } else {
            int rc = ct_queue_get(&q, &item, 0);
            if (n == 0) {
                cr_assert_eq(rc, CT_ETIMEDOUT, "get_nowait on an empty queue");
                continue;
            }
            cr_assert_eq(rc, CT_OK);
            size_t k = 0;
            if (kind == CT_QUEUE_LIFO) {
                k = n - 1;
            } else if (kind == CT_QUEUE_PRIORITY) {
                for (size_t i = 1; i < n; i++)
                    if (model[i] < model[k])
                        k = i;
            }
            cr_assert_eq(NUM(item), model[k], "kind %d step %d: got %lu, want %lu", kind, step,
                         (unsigned long)NUM(item), (unsigned long)model[k]);
            memmove(&model[k], &model[k + 1], (n - k - 1) * sizeof model[0]);
            n--;
        }
        cr_assert_eq(ct_queue_qsize(&q), n);
        cr_assert_eq(ct_queue_full(&q), maxsize != 0 && n == maxsize);
    }
    cr_assert_eq(ct_queue_destroy(&q), CT_OK);
}

Test(queue, fifo_order_exact_across_growth_and_wrap) { order_against_model(CT_QUEUE_FIFO, 0); }
Test(queue, fifo_bounded_order) { order_against_model(CT_QUEUE_FIFO, 10); }
Test(queue, lifo_order) { order_against_model(CT_QUEUE_LIFO, 0); }
Test(queue, lifo_bounded_order) { order_against_model(CT_QUEUE_LIFO, 7); }
Test(queue, priority_order_smallest_first) { order_against_model(CT_QUEUE_PRIORITY, 0); }
Test(queue, priority_bounded_order) { order_against_model(CT_QUEUE_PRIORITY, 13); }

Test(queue, priority_with_equal_keys_is_sorted)
{
    ct_queue_t q;
    void *item;
    uintptr_t last = 0;

    cr_assert_eq(ct_queue_init(&q, CT_QUEUE_PRIORITY, 0, cmp_num), CT_OK);
    for (uintptr_t i = 0; i < 500; i++)
        cr_assert_eq(ct_queue_put(&q, ITEM((i * 7919) % 37), 0), CT_OK);
    for (int i = 0; i < 500; i++) {
        cr_assert_eq(ct_queue_get(&q, &item, 0), CT_OK);
        cr_assert_geq(NUM(item), last);
        last = NUM(item);
    }
    cr_assert_eq(ct_queue_destroy(&q), CT_OK);
}

/* ---- bounds and timeouts --------------------------------------------------------------------- */

Test(queue, full_queue_put_times_out_without_change)
{
    ct_queue_t q;
    void *item;

    cr_assert_eq(ct_queue_init(&q, CT_QUEUE_FIFO, 3, NULL), CT_OK);
    for (uintptr_t i = 1; i <= 3; i++)
        cr_assert_eq(ct_queue_put(&q, ITEM(i), 0), CT_OK);
    cr_assert(ct_queue_full(&q));
    cr_assert_eq(ct_queue_put(&q, ITEM(9), 0), CT_ETIMEDOUT);
    int64_t t0 = t_now();
    cr_assert_eq(ct_queue_put(&q, ITEM(9), CT_MS(30)), CT_ETIMEDOUT);
    int64_t took = t_now() - t0;
    cr_assert_geq(took, CT_MS(30), "timed out early: %lld ns", (long long)took);
    cr_assert_lt(took, CT_MS(30) + T_SLACK);
    cr_assert_eq(ct_queue_qsize(&q), 3u);
    cr_assert_eq(ct_queue_join(&q, 0), CT_ETIMEDOUT);
    for (uintptr_t i = 1; i <= 3; i++) {
        cr_assert_eq(ct_queue_get(&q, &item, 0), CT_OK);
        cr_assert_eq(NUM(item), i, "the timed-out put left no trace");
        cr_assert_eq(ct_queue_task_done(&q), CT_OK);
    }
    cr_assert_eq(ct_queue_task_done(&q), CT_EOVERFLOW, "the timed-out put was not counted");
    cr_assert_eq(ct_queue_get(&q, &item, 0), CT_ETIMEDOUT);
    cr_assert_eq(ct_queue_destroy(&q), CT_OK);
}

Test(queue, empty_queue_get_times_out_not_early)
{
    ct_queue_t q = CT_QUEUE_INIT;
    void *item = ITEM(42);

    int64_t t0 = t_now();
    cr_assert_eq(ct_queue_get(&q, &item, CT_MS(30)), CT_ETIMEDOUT);
    int64_t took = t_now() - t0;
    cr_assert_geq(took, CT_MS(30));
    cr_assert_lt(took, CT_MS(30) + T_SLACK);
    cr_assert_eq(NUM(item), 42u, "item written only on CT_OK");
    cr_assert_eq(ct__queue_blocked(&q, CT__QUEUE_GETTERS), 0u, "timed-out getter dequeued");
    cr_assert_eq(ct_queue_destroy(&q), CT_OK);
}

Test(queue, bad_timeouts_are_rejected_first)
{
    ct_queue_t q = CT_QUEUE_INIT;
    void *item = NULL;
    int64_t bad[] = { -2, -1000, INT64_MIN };

    cr_assert_eq(ct_queue_put(&q, ITEM(1), 0), CT_OK);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(ct_queue_put(&q, ITEM(2), bad[i]), CT_EINVAL);
        cr_assert_eq(ct_queue_get(&q, &item, bad[i]), CT_EINVAL, "even with an item ready");
        cr_assert_eq(ct_queue_join(&q, bad[i]), CT_EINVAL);
    }
    cr_assert_eq(ct_queue_put(&q, ITEM(2), CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
    cr_assert_eq(ct_queue_get(&q, &item, INT64_MAX), CT_EOVERFLOW);
    cr_assert_eq(ct_queue_join(&q, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
    cr_assert_eq(ct_queue_qsize(&q), 1u);
    cr_assert_eq(ct_queue_shutdown(&q, false), CT_OK);
    cr_assert_eq(ct_queue_put(&q, ITEM(2), -5), CT_EINVAL, "before the shutdown check");
    cr_assert_eq(ct_queue_get(&q, &item, CT_TIMEOUT_MAX), CT_OK, "TIMEOUT_MAX itself is valid");
    cr_assert_eq(NUM(item), 1u);
    cr_assert_eq(ct_queue_destroy(&q), CT_OK);
}

/* ---- blocking put/get across threads ----------------------------------------------------------- */

struct caller {
    ct_queue_t *q;
    uintptr_t in;                  /* item to put */
    void *out;                     /* item got */
    int64_t timeout;
    int rc;
    atomic_int done;
    atomic_int *returned;          /* shared count of returns, or NULL */
    long vcsw;                     /* voluntary context switches inside the call (Linux) */
};

static long voluntary_switches(void)
{
#if defined(__linux__) && defined(RUSAGE_THREAD)
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_nvcsw;
#else
    return 0;
#endif
}

static void do_get(void *p)
{
    struct caller *c = p;
    long v0 = voluntary_switches();
    c->rc = ct_queue_get(c->q, &c->out, c->timeout);
    c->vcsw = voluntary_switches() - v0;
    if (c->returned)
        atomic_fetch_add(c->returned, 1);
    atomic_store(&c->done, 1);
}

static void do_put(void *p)
{
    struct caller *c = p;
    c->rc = ct_queue_put(c->q, ITEM(c->in), c->timeout);
    if (c->returned)
        atomic_fetch_add(c->returned, 1);
    atomic_store(&c->done, 1);
}

static void do_join(void *p)
{
    struct caller *c = p;
    c->rc = ct_queue_join(c->q, c->timeout);
    atomic_store(&c->done, 1);
}

Test(queue, blocked_getter_gets_the_item_put_by_another_thread, .timeout = 60)
{
    for (int kind = 0; kind < 3; kind++) {
        ct_queue_t q;
        struct caller g = { .timeout = CT_FOREVER };
        ct_thread_t t;

        cr_assert_eq(ct_queue_init(&q, kind, kind + 1, cmp_num), CT_OK);
        g.q = &q;
        cr_assert_eq(ct_thread_start(&t, do_get, &g), CT_OK);
        cr_assert_eq(await_blocked(&q, CT__QUEUE_GETTERS, 1), 1u);
        cr_assert_eq(ct_queue_put(&q, ITEM(77), 0), CT_OK);
        cr_assert_eq(ct_thread_join(&t, CT_SEC(30)), CT_OK);
        cr_assert_eq(g.rc, CT_OK);
        cr_assert_eq(NUM(g.out), 77u);
        cr_assert(ct_queue_empty(&q), "handed over, never stored");
        cr_assert_eq(ct_queue_task_done(&q), CT_OK, "a handed-over item counts");
        cr_assert_eq(ct_queue_task_done(&q), CT_EOVERFLOW);
        cr_assert_eq(ct_queue_destroy(&q), CT_OK);
    }
}

Test(queue, blocked_putter_enters_when_a_slot_frees, .timeout = 60)
{
    for (int kind = 0; kind < 3; kind++) {
        ct_queue_t q;
        struct caller p = { .in = 5, .timeout = CT_FOREVER };
        ct_thread_t t;
        void *item;

        cr_assert_eq(ct_queue_init(&q, kind, 2, cmp_num), CT_OK);
        cr_assert_eq(ct_queue_put(&q, ITEM(10), 0), CT_OK);
        cr_assert_eq(ct_queue_put(&q, ITEM(20), 0), CT_OK);
        p.q = &q;
        cr_assert_eq(ct_thread_start(&t, do_put, &p), CT_OK);
        cr_assert_eq(await_blocked(&q, CT__QUEUE_PUTTERS, 1), 1u);
        cr_assert_eq(ct_queue_get(&q, &item, 0), CT_OK);
        cr_assert_eq(NUM(item), kind == CT_QUEUE_LIFO ? 20u : 10u);
        cr_assert_eq(ct_thread_join(&t, CT_SEC(30)), CT_OK);
        cr_assert_eq(p.rc, CT_OK);
        cr_assert(ct_queue_full(&q));
        cr_assert_eq(ct_queue_get(&q, &item, 0), CT_OK);
        uintptr_t a = NUM(item);
        cr_assert_eq(ct_queue_get(&q, &item, 0), CT_OK);
        uintptr_t b = NUM(item);
        if (kind == CT_QUEUE_FIFO)
            cr_assert(a == 20 && b == 5);
        else if (kind == CT_QUEUE_LIFO)
            cr_assert(a == 5 && b == 10, "got %lu %lu", (unsigned long)a, (unsigned long)b);
        else
            cr_assert(a == 5 && b == 20);
        for (int i = 0; i < 3; i++)
            cr_assert_eq(ct_queue_task_done(&q), CT_OK);
        cr_assert_eq(ct_queue_task_done(&q), CT_EOVERFLOW);
        cr_assert_eq(ct_queue_destroy(&q), CT_OK);
    }
}

#define NWAIT 6

Test(queue, one_put_wakes_exactly_the_getter_it_feeds, .timeout = 60)
{
    ct_queue_t q = CT_QUEUE_INIT;
    struct caller g[NWAIT];
    ct_thread_t t[NWAIT];
    atomic_int returned = 0;
    int served = -1;

    for (int i = 0; i < NWAIT; i++) {
        g[i] = (struct caller){ .q = &q, .timeout = CT_FOREVER, .returned = &returned };
        cr_assert_eq(ct_thread_start(&t[i], do_get, &g[i]), CT_OK);
        cr_assert_eq(await_blocked(&q, CT__QUEUE_GETTERS, (size_t)i + 1), (size_t)i + 1);
    }
    t_pause_ms(50);                        /* let every getter fall asleep */
    cr_assert_eq(ct_queue_put(&q, ITEM(1), 0), CT_OK);
    cr_assert_eq(t_await_count(&returned, 1), 1);
    t_pause_ms(100);                       /* a herd would show up here */
    cr_assert_eq(atomic_load(&returned), 1, "one put, one getter back");
    cr_assert_eq(ct__queue_blocked(&q, CT__QUEUE_GETTERS), (size_t)NWAIT - 1);
    for (int i = 0; i < NWAIT; i++)
        if (atomic_load(&g[i].done))
            served = i;
    cr_assert_eq(served, 0, "the oldest getter is served");
    /* Feed the others one at a time: each put brings back exactly one. */
    for (int i = 1; i < NWAIT; i++) {
        cr_assert_eq(ct_queue_put(&q, ITEM(i + 1), 0), CT_OK);
        cr_assert_eq(t_await(&g[i].done, CT_SEC(30)), 1, "getter %d not served", i);
        cr_assert_eq(ct__queue_blocked(&q, CT__QUEUE_GETTERS), (size_t)(NWAIT - 1 - i));
        for (int k = i + 1; k < NWAIT; k++)
            cr_assert_not(atomic_load(&g[k].done), "getter %d woke for getter %d's item", k, i);
    }
    for (int i = 0; i < NWAIT; i++) {
        cr_assert_eq(ct_thread_join(&t[i], CT_SEC(30)), CT_OK);
        cr_assert_eq(g[i].rc, CT_OK);
        cr_assert_eq(NUM(g[i].out), (uintptr_t)i + 1);
        /* Linux: each getter slept once and was woken once (2 allowed for
         * the parking backend's own bucket lock); a put that woke every
         * getter would make the last one sleep NWAIT times. */
        cr_assert_leq(g[i].vcsw, 2, "getter %d switched %ld times", i, g[i].vcsw);
    }
    cr_assert_eq(ct_queue_destroy(&q), CT_OK);
}

Test(queue, blocked_getters_are_served_in_arrival_order, .timeout = 60)
{
    ct_queue_t q = CT_QUEUE_INIT;
    struct caller g[NWAIT];
    ct_thread_t t[NWAIT];

    for (int i = 0; i < NWAIT; i++) {
        g[i] = (struct caller){ .q = &q, .timeout = i % 2 ? CT_SEC(60) : CT_FOREVER };
        cr_assert_eq(ct_thread_start(&t[i], do_get, &g[i]), CT_OK);
        cr_assert_eq(await_blocked(&q, CT__QUEUE_GETTERS, (size_t)i + 1), (size_t)i + 1);
    }
    for (uintptr_t i = 0; i < NWAIT; i++)
        cr_assert_eq(ct_queue_put(&q, ITEM(100 + i), 0), CT_OK);
    for (int i = 0; i < NWAIT; i++) {
        cr_assert_eq(ct_thread_join(&t[i], CT_SEC(30)), CT_OK);
        cr_assert_eq(g[i].rc, CT_OK);
        cr_assert_eq(NUM(g[i].out), 100u + (unsigned)i, "getter %d", i);
    }
    cr_assert_eq(ct_queue_destroy(&q), CT_OK);
}

Test(queue, blocked_putters_enter_in_arrival_order, .timeout = 60)
{
    ct_queue_t q;
    struct caller p[NWAIT];
    ct_thread_t t[NWAIT];
    void *item;

    cr_assert_eq(ct_queue_init(&q, CT_QUEUE_FIFO, 1, NULL), CT_OK);
    cr_assert_eq(ct_queue_put(&q, ITEM(1000), 0), CT_OK);
    for (int i = 0; i < NWAIT; i++) {
        p[i] = (struct caller){ .q = &q, .in = (uintptr_t)i, .timeout = i % 2 ? CT_SEC(60) : CT_FOREVER };
        cr_assert_eq(ct_thread_start(&t[i], do_put, &p[i]), CT_OK);
        cr_assert_eq(await_blocked(&q, CT__QUEUE_PUTTERS, (size_t)i + 1), (size_t)i + 1);
    }
    cr_assert_eq(ct_queue_put(&q, ITEM(2000), 0), CT_ETIMEDOUT, "no overtaking");
    cr_assert_eq(ct_queue_get(&q, &item, 0), CT_OK);
    cr_assert_eq(NUM(item), 1000u);
    for (uintptr_t i = 0; i < NWAIT; i++) {
        cr_assert_eq(ct_queue_get(&q, &item, CT_SEC(30)), CT_OK);
        cr_assert_eq(NUM(item), i, "putter %lu", (unsigned long)i);
    }
    for (int i = 0; i < NWAIT; i++) {
        cr_assert_eq(ct_thread_join(&t[i], CT_SEC(30)), CT_OK);
        cr_assert_eq(p[i].rc, CT_OK);
    }
    cr_assert_eq(ct_queue_destroy(&q), CT_OK);
}

/* ---- task_done / join -------------------------------------------------------------------------- */

Test(queue, task_done_too_many_times_is_eoverflow)
{
    ct_queue_t q = CT_QUEUE_INIT;
    void *item;

    cr_assert_eq(ct_queue_task_done(&q), CT_EOVERFLOW);
    cr_assert_eq(ct_queue_join(&q, 0), CT_OK, "nothing put: join returns at once");
    cr_assert_eq(ct_queue_join(&q, CT_FOREVER), CT_OK);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ct_queue_put(&q, ITEM(i), 0), CT_OK);
    cr_assert_eq(ct_queue_task_done(&q), CT_OK, "task_done may run ahead of get");
    cr_assert_eq(ct_queue_get(&q, &item, 0), CT_OK);
    cr_assert_eq(ct_queue_task_done(&q), CT_OK);
    cr_assert_eq(ct_queue_join(&q, CT_MS(1)), CT_ETIMEDOUT);
    cr_assert_eq(ct_queue_task_done(&q), CT_OK);
    cr_assert_eq(ct_queue_task_done(&q), CT_EOVERFLOW);
    cr_assert_eq(ct_queue_join(&q, 0), CT_OK);
    cr_assert_eq(ct_queue_qsize(&q), 2u, "task_done does not remove items");
    cr_assert_eq(ct_queue_destroy(&q), CT_OK);
}

Test(queue, join_waits_for_the_last_task_done, .timeout = 60)
{
    ct_queue_t q = CT_QUEUE_INIT;
    struct caller j[3];
    ct_thread_t t[3];
    void *item;

    for (int i = 0; i < 2; i++)
        cr_assert_eq(ct_queue_put(&q, ITEM(i), 0), CT_OK);
    for (int i = 0; i < 3; i++) {
        j[i] = (struct caller){ .q = &q, .timeout = i == 2 ? CT_SEC(60) : CT_FOREVER };
        cr_assert_eq(ct_thread_start(&t[i], do_join, &j[i]), CT_OK);
    }
    cr_assert_eq(await_blocked(&q, CT__QUEUE_JOINERS, 3), 3u);
    cr_assert_eq(ct_queue_get(&q, &item, 0), CT_OK);
    cr_assert_eq(ct_queue_task_done(&q), CT_OK);
    t_pause_ms(20);
    for (int i = 0; i < 3; i++)
        cr_assert_not(atomic_load(&j[i].done), "join returned before the last task_done");
    cr_assert_eq(ct_queue_get(&q, &item, 0), CT_OK);
    cr_assert_eq(ct_queue_task_done(&q), CT_OK);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(ct_thread_join(&t[i], CT_SEC(30)), CT_OK);
        cr_assert_eq(j[i].rc, CT_OK);
    }
    cr_assert_eq(ct_queue_destroy(&q), CT_OK);
}

Test(queue, join_times_out_while_tasks_are_unfinished)
{
    ct_queue_t q = CT_QUEUE_INIT;

    cr_assert_eq(ct_queue_put(&q, ITEM(1), 0), CT_OK);
    int64_t t0 = t_now();
    cr_assert_eq(ct_queue_join(&q, CT_MS(20)), CT_ETIMEDOUT);
    cr_assert_geq(t_now() - t0, CT_MS(20));
    cr_assert_eq(ct__queue_blocked(&q, CT__QUEUE_JOINERS), 0u);
    cr_assert_eq(ct_queue_destroy(&q), CT_OK);
}

/* ---- shutdown ----------------------------------------------------------------------------------- */

Test(queue, shutdown_drains_then_fails, .timeout = 60)
{
    ct_queue_t q;
    struct caller j = { .timeout = CT_FOREVER };
    ct_thread_t tj;
    void *item;

    cr_assert_eq(ct_queue_init(&q, CT_QUEUE_FIFO, 4, NULL), CT_OK);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ct_queue_put(&q, ITEM(i), 0), CT_OK);
    cr_assert_eq(ct_queue_shutdown(&q, false), CT_OK);
    cr_assert_eq(ct_queue_put(&q, ITEM(9), 0), CT_ESHUTDOWN, "room, but shut down");
    cr_assert_eq(ct_queue_put(&q, ITEM(9), CT_FOREVER), CT_ESHUTDOWN);
    cr_assert_eq(ct_queue_qsize(&q), 3u);
    j.q = &q;
    cr_assert_eq(ct_thread_start(&tj, do_join, &j), CT_OK);
    for (uintptr_t i = 0; i < 3; i++) {
        cr_assert_eq(ct_queue_get(&q, &item, CT_FOREVER), CT_OK);
        cr_assert_eq(NUM(item), i);
    }
    cr_assert_eq(ct_queue_get(&q, &item, 0), CT_ESHUTDOWN, "ESHUTDOWN before ETIMEDOUT");
    cr_assert_eq(ct_queue_get(&q, &item, CT_FOREVER), CT_ESHUTDOWN, "never blocks");
    cr_assert_eq(await_blocked(&q, CT__QUEUE_JOINERS, 1), 1u);
    /* 3.13: join after a non-immediate shutdown still waits for task_done */
    for (int i = 0; i < 2; i++)
        cr_assert_eq(ct_queue_task_done(&q), CT_OK);
    t_pause_ms(20);
    cr_assert_not(atomic_load(&j.done));
    cr_assert_eq(ct_queue_task_done(&q), CT_OK);
    cr_assert_eq(ct_thread_join(&tj, CT_SEC(30)), CT_OK);
    cr_assert_eq(j.rc, CT_OK);
    cr_assert_eq(ct_queue_task_done(&q), CT_EOVERFLOW);
    cr_assert_eq(ct_queue_destroy(&q), CT_OK);
}

Test(queue, shutdown_immediate_drops_items_and_counts_them_done, .timeout = 60)
{
    ct_queue_t q;
    struct caller j = { .timeout = CT_FOREVER };
    ct_thread_t tj;
    void *item;

    cr_assert_eq(ct_queue_init(&q, CT_QUEUE_PRIORITY, 0, cmp_num), CT_OK);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(ct_queue_put(&q, ITEM(i), 0), CT_OK);
    cr_assert_eq(ct_queue_get(&q, &item, 0), CT_OK);       /* got, not done */
    j.q = &q;
    cr_assert_eq(ct_thread_start(&tj, do_join, &j), CT_OK);
    cr_assert_eq(await_blocked(&q, CT__QUEUE_JOINERS, 1), 1u);
    cr_assert_eq(ct_queue_shutdown(&q, true), CT_OK);
    cr_assert_eq(ct_queue_qsize(&q), 0u, "dropped");
    cr_assert_eq(ct_queue_get(&q, &item, CT_FOREVER), CT_ESHUTDOWN);
    cr_assert_eq(ct_queue_put(&q, ITEM(1), 0), CT_ESHUTDOWN);
    t_pause_ms(20);
    cr_assert_not(atomic_load(&j.done), "one item got and not done yet");
    cr_assert_eq(ct_queue_task_done(&q), CT_OK);
    cr_assert_eq(ct_thread_join(&tj, CT_SEC(30)), CT_OK);
    cr_assert_eq(j.rc, CT_OK);
    cr_assert_eq(ct_queue_task_done(&q), CT_EOVERFLOW, "dropped items were counted done");
    cr_assert_eq(ct_queue_shutdown(&q, false), CT_OK, "again: harmless");
    cr_assert_eq(ct_queue_destroy(&q), CT_OK);
}

Test(queue, shutdown_wakes_every_blocked_caller, .timeout = 60)
{
    for (int immediate = 0; immediate < 2; immediate++) {
        ct_queue_t empty = CT_QUEUE_INIT, full;
        struct caller g[NWAIT], p[NWAIT];
        ct_thread_t tg[NWAIT], tp[NWAIT];
        void *item;

        cr_assert_eq(ct_queue_init(&full, CT_QUEUE_LIFO, 1, NULL), CT_OK);
        cr_assert_eq(ct_queue_put(&full, ITEM(1), 0), CT_OK);
        for (int i = 0; i < NWAIT; i++) {
            int64_t to = i % 2 ? CT_SEC(60) : CT_FOREVER;
            g[i] = (struct caller){ .q = &empty, .timeout = to };
            p[i] = (struct caller){ .q = &full, .in = 2, .timeout = to };
            cr_assert_eq(ct_thread_start(&tg[i], do_get, &g[i]), CT_OK);
            cr_assert_eq(ct_thread_start(&tp[i], do_put, &p[i]), CT_OK);
        }
        cr_assert_eq(await_blocked(&empty, CT__QUEUE_GETTERS, NWAIT), (size_t)NWAIT);
        cr_assert_eq(await_blocked(&full, CT__QUEUE_PUTTERS, NWAIT), (size_t)NWAIT);
        cr_assert_eq(ct_queue_shutdown(&empty, immediate), CT_OK);
        cr_assert_eq(ct_queue_shutdown(&full, immediate), CT_OK);
        for (int i = 0; i < NWAIT; i++) {
            cr_assert_eq(ct_thread_join(&tg[i], CT_SEC(30)), CT_OK);
            cr_assert_eq(ct_thread_join(&tp[i], CT_SEC(30)), CT_OK);
            cr_assert_eq(g[i].rc, CT_ESHUTDOWN);
            cr_assert_eq(p[i].rc, CT_ESHUTDOWN);
        }
        cr_assert_eq(ct_queue_qsize(&full), immediate ? 0u : 1u);
        cr_assert_eq(ct_queue_get(&full, &item, 0), immediate ? CT_ESHUTDOWN : CT_OK);
        cr_assert_eq(ct_queue_join(&full, 0), immediate ? CT_OK : CT_ETIMEDOUT,
                     "blocked putters' items were never counted");
        cr_assert_eq(ct_queue_destroy(&empty), CT_OK);
        cr_assert_eq(ct_queue_destroy(&full), CT_OK);
    }
}

/* ---- destroy, CT_ENOMEM ------------------------------------------------------------------------ */

Test(queue, destroy_while_a_thread_waits_is_ebusy, .timeout = 60)
{
    ct_queue_t q;
    struct caller c = { .timeout = CT_FOREVER };
    ct_thread_t t;
    void *item;

    cr_assert_eq(ct_queue_init(&q, CT_QUEUE_FIFO, 1, NULL), CT_OK);
    c.q = &q;
    /* a getter */
    cr_assert_eq(ct_thread_start(&t, do_get, &c), CT_OK);
    cr_assert_eq(await_blocked(&q, CT__QUEUE_GETTERS, 1), 1u);
    cr_assert_eq(ct_queue_destroy(&q), CT_EBUSY);
    cr_assert_eq(ct_queue_put(&q, ITEM(3), 0), CT_OK, "still usable");
    cr_assert_eq(ct_thread_join(&t, CT_SEC(30)), CT_OK);
    cr_assert_eq(NUM(c.out), 3u);
    /* a putter */
    cr_assert_eq(ct_queue_put(&q, ITEM(4), 0), CT_OK);
    c.in = 5;
    cr_assert_eq(ct_thread_start(&t, do_put, &c), CT_OK);
    cr_assert_eq(await_blocked(&q, CT__QUEUE_PUTTERS, 1), 1u);
    cr_assert_eq(ct_queue_destroy(&q), CT_EBUSY);
    cr_assert_eq(ct_queue_get(&q, &item, 0), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_SEC(30)), CT_OK);
    /* a joiner (unfinished: 3, 4, 5) */
    cr_assert_eq(ct_thread_start(&t, do_join, &c), CT_OK);
    cr_assert_eq(await_blocked(&q, CT__QUEUE_JOINERS, 1), 1u);
    cr_assert_eq(ct_queue_destroy(&q), CT_EBUSY);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ct_queue_task_done(&q), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_SEC(30)), CT_OK);
    cr_assert_eq(c.rc, CT_OK);
    cr_assert_eq(ct_queue_qsize(&q), 1u);
    cr_assert_eq(ct_queue_destroy(&q), CT_OK, "items still queued are dropped");
    cr_assert_eq(ct_queue_qsize(&q), 0u);
    cr_assert_eq(ct_queue_put(&q, ITEM(1), 0), CT_OK, "destroyed = zero-initialised");
    cr_assert_eq(ct_queue_put(&q, ITEM(2), 0), CT_OK, "and unbounded now");
    cr_assert_eq(ct_queue_destroy(&q), CT_OK);
    cr_assert_eq(ct_queue_destroy(&q), CT_OK, "twice: harmless");
}

static int allocs_left;
static void *failing_realloc(void *p, size_t n)
{
    if (allocs_left == 0)
        return NULL;
    allocs_left--;
    return realloc(p, n);
}

Test(queue, enomem_leaves_the_queue_unchanged)
{
    for (int kind = 0; kind < 3; kind++) {
        ct_queue_t q;
        void *item;
        size_t cap;

        cr_assert_eq(ct_queue_init(&q, kind, 0, cmp_num), CT_OK);
        ct__queue_realloc = failing_realloc;
        allocs_left = 0;
        cr_assert_eq(ct_queue_put(&q, ITEM(1), 0), CT_ENOMEM, "first buffer");
        cr_assert_eq(ct_queue_qsize(&q), 0u);
        cr_assert_eq(ct_queue_join(&q, 0), CT_OK, "not counted");
        allocs_left = 1;
        /* wrap the FIFO ring first, so the failed growth would have to move it */
        cr_assert_eq(ct_queue_put(&q, ITEM(100), 0), CT_OK);
        cr_assert_eq(ct_queue_get(&q, &item, 0), CT_OK);
        cr_assert_eq(ct_queue_task_done(&q), CT_OK);
        cap = ct__queue_capacity(&q);
        cr_assert_gt(cap, 1u);
        for (uintptr_t i = 0; i < cap; i++)
            cr_assert_eq(ct_queue_put(&q, ITEM(cap - i), 0), CT_OK);
        cr_assert_eq(ct_queue_put(&q, ITEM(500), CT_FOREVER), CT_ENOMEM, "growth");
        cr_assert_eq(ct_queue_qsize(&q), cap);
        cr_assert_eq(ct__queue_capacity(&q), cap);
        allocs_left = 1;
        cr_assert_eq(ct_queue_put(&q, ITEM(cap + 1), 0), CT_OK, "after the failure");
        cr_assert_eq(ct__queue_capacity(&q), 2 * cap, "doubling");
        ct__queue_realloc = realloc;
        for (uintptr_t i = 0; i <= cap; i++) {
            uintptr_t want = kind == CT_QUEUE_FIFO ? (i < cap ? cap - i : cap + 1)
                           : kind == CT_QUEUE_LIFO ? (i == 0 ? cap + 1 : i)
                           : i + 1;
            cr_assert_eq(ct_queue_get(&q, &item, 0), CT_OK);
            cr_assert_eq(NUM(item), want, "kind %d item %lu", kind, (unsigned long)i);
            cr_assert_eq(ct_queue_task_done(&q), CT_OK);
        }
        cr_assert_eq(ct_queue_task_done(&q), CT_EOVERFLOW, "the failed puts were not counted");
        cr_assert_eq(ct_queue_destroy(&q), CT_OK);
    }
}

Test(queue, bounded_queue_never_allocates_beyond_maxsize)
{
    ct_queue_t q;
    cr_assert_eq(ct_queue_init(&q, CT_QUEUE_FIFO, 10, NULL), CT_OK);
    for (int round = 0; round < 3; round++) {
        void *item;
        for (uintptr_t i = 0; i < 10; i++)
            cr_assert_eq(ct_queue_put(&q, ITEM(i), 0), CT_OK);
        cr_assert_eq(ct__queue_capacity(&q), 10u);
        for (uintptr_t i = 0; i < 7; i++) {
            cr_assert_eq(ct_queue_get(&q, &item, 0), CT_OK);
            cr_assert_eq(NUM(item), i);
        }
        for (uintptr_t i = 0; i < 3; i++) {
            cr_assert_eq(ct_queue_get(&q, &item, 0), CT_OK);
            cr_assert_eq(NUM(item), 7 + i);
        }
    }
    cr_assert_eq(ct_queue_destroy(&q), CT_OK);
}

/* ---- under load --------------------------------------------------------------------------------- */

#define PRODUCERS 4
#define CONSUMERS 4

struct load {
    ct_queue_t q;
    int per_producer;
    atomic_int next_producer, next_consumer;
    atomic_int seen[PRODUCERS * 20000];
    atomic_int got, timeouts;
};

static void producer(void *p)
{
    struct load *l = p;
    int id = atomic_fetch_add(&l->next_producer, 1);
    for (int i = 0; i < l->per_producer; i++) {
        uintptr_t v = (uintptr_t)(id * l->per_producer + i) + 1;
        int rc;
        while ((rc = ct_queue_put(&l->q, ITEM(v), i % 3 ? CT_US(200) : CT_FOREVER)) == CT_ETIMEDOUT)
            atomic_fetch_add(&l->timeouts, 1);
        if (rc != CT_OK)
            atomic_fetch_add(&l->seen[0], 1000000);   /* reported by the test */
    }
}

static void consumer(void *p)
{
    struct load *l = p;
    for (;;) {
        void *item;
        int rc = ct_queue_get(&l->q, &item, atomic_load(&l->got) % 2 ? CT_US(300) : CT_FOREVER);
        if (rc == CT_ETIMEDOUT) {
            atomic_fetch_add(&l->timeouts, 1);
            continue;
        }
        if (rc == CT_ESHUTDOWN)
            return;
        atomic_fetch_add(&l->seen[NUM(item) - 1], 1);
        atomic_fetch_add(&l->got, 1);
        ct_queue_task_done(&l->q);
    }
}

Test(queue, every_item_delivered_exactly_once_under_load, .timeout = 300)
{
    for (int kind = 0; kind < 3; kind++) {
        struct load *l = calloc(1, sizeof *l);
        ct_thread_t tp[PRODUCERS], tc[CONSUMERS];
        int total;

        l->per_producer = 20000 / STRESS_SCALE;
        total = PRODUCERS * l->per_producer;
        cr_assert_eq(ct_queue_init(&l->q, kind, 16, cmp_num), CT_OK);
        for (int i = 0; i < CONSUMERS; i++)
            cr_assert_eq(ct_thread_start(&tc[i], consumer, l), CT_OK);
        for (int i = 0; i < PRODUCERS; i++)
            cr_assert_eq(ct_thread_start(&tp[i], producer, l), CT_OK);
        for (int i = 0; i < PRODUCERS; i++)
            cr_assert_eq(ct_thread_join(&tp[i], CT_SEC(120)), CT_OK);
        cr_assert_eq(ct_queue_join(&l->q, CT_SEC(120)), CT_OK);
        cr_assert_eq(atomic_load(&l->got), total);
        cr_assert_eq(ct_queue_shutdown(&l->q, false), CT_OK);
        for (int i = 0; i < CONSUMERS; i++)
            cr_assert_eq(ct_thread_join(&tc[i], CT_SEC(30)), CT_OK);
        for (int i = 0; i < total; i++)
            cr_assert_eq(atomic_load(&l->seen[i]), 1, "kind %d item %d seen %d times", kind, i + 1,
                         atomic_load(&l->seen[i]));
        cr_assert_eq(ct_queue_destroy(&l->q), CT_OK);
        free(l);
    }
}
