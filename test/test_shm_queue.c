/* ShmQueue (<cthreading/shm_queue.h>): every call and code in one process
 * (threads, ordinary memory: every platform), then across processes where
 * the wait backend shares waits — forked producers and consumers over an
 * anonymous region, and separate programs that open a named region
 * (test/shm/queue_peer.c).  Items carry their producer, sequence number and
 * a checksummed payload (test/shm/queue_roles.h): each must arrive exactly
 * once, intact, in its producer's order.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ct_test.h"
#include "helpers.h"
#include "sanitizer_fork.h"
#include "shm/queue_roles.h"

/* A block for a queue in ordinary memory, 64-byte aligned. */
struct block {
    alignas(64) unsigned char b[4096];
};

static ct_shm_queue_t *queue_new(struct block *m, size_t capacity, size_t item_size)
{
    ct_shm_queue_t *q = (ct_shm_queue_t *)m->b;
    size_t need = ct_shm_queue_bytes(capacity, item_size);

    cr_assert(need > 0 && need <= sizeof m->b);
    cr_assert_eq(ct_shm_queue_init(q, need, capacity, item_size), CT_OK);
    return q;
}

/* ---- sizes and init ------------------------------------------------------------- */

Test(shm_queue, bytes_needs_header_and_slots_and_refuses_bad_sizes)
{
    size_t one = ct_shm_queue_bytes(1, 1);

    cr_assert_gt(one, sizeof(ct_shm_queue_t));
    cr_assert_eq(one % 64, 1u, "slots start on a cache line after the header");
    cr_assert_eq(ct_shm_queue_bytes(10, 24), one - 1 + 240);
    cr_assert_eq(ct_shm_queue_bytes(0, 8), 0u);
    cr_assert_eq(ct_shm_queue_bytes(8, 0), 0u);
    cr_assert_eq(ct_shm_queue_bytes(SIZE_MAX, 2), 0u);
    cr_assert_eq(ct_shm_queue_bytes(2, SIZE_MAX), 0u);
    cr_assert_eq(ct_shm_queue_bytes(SIZE_MAX / 2, 2), 0u);
}

Test(shm_queue, init_refuses_bad_input_and_changes_nothing)
{
    static struct block m, keep;
    ct_shm_queue_t *q = (ct_shm_queue_t *)m.b;
    size_t need = ct_shm_queue_bytes(4, 16);

    memset(m.b, 0x5a, sizeof m.b);
    keep = m;
    cr_assert_eq(ct_shm_queue_init(q, need - 1, 4, 16), CT_EINVAL);
    cr_assert_eq(ct_shm_queue_init(q, need, 0, 16), CT_EINVAL);
    cr_assert_eq(ct_shm_queue_init(q, need, 4, 0), CT_EINVAL);
    cr_assert_eq(ct_shm_queue_init(q, sizeof m.b, SIZE_MAX, 16), CT_EINVAL);
    cr_assert_eq(ct_shm_queue_init((ct_shm_queue_t *)(m.b + 4), need, 4, 16), CT_EINVAL);
    cr_assert_eq(memcmp(&m, &keep, sizeof m), 0);

    cr_assert_eq(ct_shm_queue_init(q, need, 4, 16), CT_OK);
    cr_assert_eq(ct_shm_queue_capacity(q), 4u);
    cr_assert_eq(ct_shm_queue_item_size(q), 16u);
    cr_assert_eq(ct_shm_queue_qsize(q), 0u);
    cr_assert(ct_shm_queue_empty(q));
    cr_assert(!ct_shm_queue_full(q));
    cr_assert_eq(memcmp(m.b + need, keep.b + need, sizeof m.b - need), 0,
                 "init writes nothing past its block");
}

Test(shm_queue, a_queue_never_initialised_is_refused)
{
    static struct block m, keep;
    ct_shm_queue_t *q = (ct_shm_queue_t *)m.b;
    char item[8] = "abcdefg", out[8] = "0123456";

    keep = m;
    cr_assert_eq(ct_shm_queue_put(q, item, 0), CT_EINVAL);
    cr_assert_eq(ct_shm_queue_put(q, item, CT_FOREVER), CT_EINVAL);
    cr_assert_eq(ct_shm_queue_get(q, out, CT_FOREVER), CT_EINVAL);
    cr_assert_eq(ct_shm_queue_shutdown(q, true), CT_EINVAL);
    cr_assert_eq(ct_shm_queue_qsize(q), 0u);
    cr_assert(ct_shm_queue_empty(q));
    cr_assert(!ct_shm_queue_full(q));
    cr_assert_eq(ct_shm_queue_capacity(q), 0u);
    cr_assert_eq(ct_shm_queue_item_size(q), 0u);
    cr_assert_eq(memcmp(&m, &keep, sizeof m), 0);
    cr_assert_eq(memcmp(out, "0123456", 8), 0);
}

/* ---- one thread ----------------------------------------------------------------- */

Test(shm_queue, fifo_copies_bytes_and_wraps_around)
{
    static struct block m;
    ct_shm_queue_t *q = queue_new(&m, 3, 5);
    unsigned char in[5], out[5];
    unsigned next_in = 0, next_out = 0;

    for (int round = 0; round < 10; round++) {
        for (int k = 0; k < 1 + round % 3; k++) {
            memset(in, (int)(next_in++ & 0xff), sizeof in);
            in[4] = 0xee;
            cr_assert_eq(ct_shm_queue_put(q, in, 0), CT_OK);
            memset(in, 0, sizeof in); /* the queue keeps a copy */
        }
        cr_assert_eq(ct_shm_queue_qsize(q), (size_t)(next_in - next_out));
        while (next_out < next_in) {
            memset(out, 0x11, sizeof out);
            cr_assert_eq(ct_shm_queue_get(q, out, 0), CT_OK);
            cr_assert_eq(out[0], (unsigned char)next_out);
            cr_assert_eq(out[3], (unsigned char)next_out);
            cr_assert_eq(out[4], 0xee);
            next_out++;
        }
        cr_assert(ct_shm_queue_empty(q));
    }
}

Test(shm_queue, full_and_empty_time_out_and_change_nothing)
{
    static struct block m, keep;
    ct_shm_queue_t *q = queue_new(&m, 2, sizeof(int));
    int v = 1, out = -7;
    int64_t t0;

    cr_assert_eq(ct_shm_queue_get(q, &out, 0), CT_ETIMEDOUT);
    t0 = t_now();
    cr_assert_eq(ct_shm_queue_get(q, &out, CT_MS(30)), CT_ETIMEDOUT);
    cr_assert_geq(t_now() - t0, CT_MS(30), "a timed get never returns early");
    cr_assert_eq(out, -7);

    cr_assert_eq(ct_shm_queue_put(q, &v, 0), CT_OK);
    v = 2;
    cr_assert_eq(ct_shm_queue_put(q, &v, 0), CT_OK);
    cr_assert(ct_shm_queue_full(q));
    keep = m;
    v = 3;
    cr_assert_eq(ct_shm_queue_put(q, &v, 0), CT_ETIMEDOUT);
    t0 = t_now();
    cr_assert_eq(ct_shm_queue_put(q, &v, CT_MS(30)), CT_ETIMEDOUT);
    cr_assert_geq(t_now() - t0, CT_MS(30), "a timed put never returns early");
    cr_assert_eq(memcmp(&m, &keep, sizeof m), 0);
    cr_assert_eq(ct_shm_queue_get(q, &out, 0), CT_OK);
    cr_assert_eq(out, 1);
    cr_assert_eq(ct_shm_queue_get(q, &out, CT_FOREVER), CT_OK);
    cr_assert_eq(out, 2);
}

Test(shm_queue, bad_timeouts_are_checked_first)
{
    static struct block m, keep;
    ct_shm_queue_t *q = queue_new(&m, 2, sizeof(int));
    int v = 5, out = -1;

    cr_assert_eq(ct_shm_queue_put(q, &v, 0), CT_OK);
    keep = m;
    cr_assert_eq(ct_shm_queue_put(q, &v, -2), CT_EINVAL);
    cr_assert_eq(ct_shm_queue_put(q, &v, INT64_MIN), CT_EINVAL);
    cr_assert_eq(ct_shm_queue_put(q, &v, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
    cr_assert_eq(ct_shm_queue_get(q, &out, -2), CT_EINVAL, "even with an item ready");
    cr_assert_eq(ct_shm_queue_get(q, &out, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
    cr_assert_eq(memcmp(&m, &keep, sizeof m), 0);
    cr_assert_eq(out, -1);
    cr_assert_eq(ct_shm_queue_put(q, &v, CT_TIMEOUT_MAX), CT_OK, "the maximum is valid");
    cr_assert_eq(ct_shm_queue_qsize(q), 2u);
}

Test(shm_queue, holds_no_pointer_so_a_copied_block_still_works)
{
    static struct block m, moved;
    ct_shm_queue_t *q = queue_new(&m, 4, sizeof(uint64_t)), *q2;
    uint64_t v, out;

    for (v = 100; v < 103; v++)
        cr_assert_eq(ct_shm_queue_put(q, &v, 0), CT_OK);
    cr_assert_eq(ct_shm_queue_get(q, &out, 0), CT_OK);
    moved = m;                       /* as if mapped at another address */
    memset(&m, 0xcc, sizeof m);      /* the original is gone */
    q2 = (ct_shm_queue_t *)moved.b;
    v = 103;
    cr_assert_eq(ct_shm_queue_put(q2, &v, 0), CT_OK);
    for (v = 101; v < 104; v++) {
        cr_assert_eq(ct_shm_queue_get(q2, &out, 0), CT_OK);
        cr_assert_eq(out, v);
    }
    cr_assert_eq(ct_shm_queue_get(q2, &out, 0), CT_ETIMEDOUT);
}

Test(shm_queue, shutdown_drains_or_drops_and_then_refuses)
{
    static struct block m;
    ct_shm_queue_t *q = queue_new(&m, 4, sizeof(int));
    int v, out = 0;

    for (v = 1; v <= 3; v++)
        cr_assert_eq(ct_shm_queue_put(q, &v, 0), CT_OK);
    cr_assert_eq(ct_shm_queue_shutdown(q, false), CT_OK);
    cr_assert_eq(ct_shm_queue_put(q, &v, CT_FOREVER), CT_ESHUTDOWN);
    cr_assert_eq(ct_shm_queue_qsize(q), 3u, "a refused put changes nothing");
    cr_assert_eq(ct_shm_queue_get(q, &out, CT_FOREVER), CT_OK);
    cr_assert_eq(out, 1);
    cr_assert_eq(ct_shm_queue_shutdown(q, false), CT_OK, "again: no change");
    cr_assert_eq(ct_shm_queue_get(q, &out, 0), CT_OK);
    cr_assert_eq(out, 2);
    cr_assert_eq(ct_shm_queue_shutdown(q, true), CT_OK, "immediate drops the rest");
    cr_assert_eq(ct_shm_queue_qsize(q), 0u);
    out = -1;
    cr_assert_eq(ct_shm_queue_get(q, &out, CT_FOREVER), CT_ESHUTDOWN);
    cr_assert_eq(ct_shm_queue_get(q, &out, 0), CT_ESHUTDOWN, "precedes CT_ETIMEDOUT");
    cr_assert_eq(out, -1);
    cr_assert_eq(ct_shm_queue_put(q, &v, 0), CT_ESHUTDOWN);
    cr_assert_eq(ct_shm_queue_get(q, &out, -2), CT_EINVAL, "timeout still checked first");
}

/* ---- threads -------------------------------------------------------------------- */

/* A call blocked with a 60 s timeout; it must return well before that (the
 * re-check after a timeout would hide a lost wake-up). */
struct blocked {
    ct_shm_queue_t *q;
    int put;           /* 1: put, 0: get */
    int value;
    atomic_int started;
    atomic_int rc;
    int64_t took;
};

static void blocked_call(void *arg)
{
    struct blocked *b = arg;
    int v = b->value;
    int64_t t0 = t_now();

    atomic_store(&b->started, 1);
    if (b->put) {
        int rc = ct_shm_queue_put(b->q, &v, CT_SEC(60));
        b->took = t_now() - t0;
        atomic_store(&b->rc, rc);
    } else {
        int rc = ct_shm_queue_get(b->q, &v, CT_SEC(60));
        b->value = v;
        b->took = t_now() - t0;
        atomic_store(&b->rc, rc);
    }
}

static void start_blocked(ct_thread_t *t, struct blocked *b, ct_shm_queue_t *q, int put, int v)
{
    b->q = q;
    b->put = put;
    b->value = v;
    atomic_store(&b->started, 0);
    atomic_store(&b->rc, 99);
    cr_assert_eq(ct_thread_start(t, blocked_call, b), CT_OK);
    cr_assert(t_await(&b->started, CT_SEC(30)));
    t_pause_ms(20); /* widens the window: the call is probably asleep now */
}

Test(shm_queue, a_put_wakes_a_blocked_getter_and_a_get_a_blocked_putter)
{
    static struct block m;
    ct_shm_queue_t *q = queue_new(&m, 1, sizeof(int));
    struct blocked b;
    ct_thread_t t;
    int v = 42, out = 0;

    start_blocked(&t, &b, q, 0, 0);
    cr_assert_eq(atomic_load(&b.rc), 99, "the getter waits for an item");
    cr_assert_eq(ct_shm_queue_put(q, &v, 0), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_SEC(60)), CT_OK);
    cr_assert_eq(atomic_load(&b.rc), CT_OK);
    cr_assert_lt(b.took, CT_SEC(30), "woken by the put, not by its timeout");
    cr_assert_eq(b.value, 42);

    cr_assert_eq(ct_shm_queue_put(q, &v, 0), CT_OK);
    start_blocked(&t, &b, q, 1, 43);
    cr_assert_eq(atomic_load(&b.rc), 99, "the putter waits for a slot");
    cr_assert_eq(ct_shm_queue_get(q, &out, 0), CT_OK);
    cr_assert_eq(out, 42);
    cr_assert_eq(ct_thread_join(&t, CT_SEC(60)), CT_OK);
    cr_assert_eq(atomic_load(&b.rc), CT_OK);
    cr_assert_lt(b.took, CT_SEC(30), "woken by the get, not by its timeout");
    cr_assert_eq(ct_shm_queue_get(q, &out, 0), CT_OK);
    cr_assert_eq(out, 43);
}

Test(shm_queue, shutdown_wakes_blocked_getters_and_putters)
{
    static struct block m1, m2;
    ct_shm_queue_t *empty = queue_new(&m1, 1, sizeof(int));
    ct_shm_queue_t *full = queue_new(&m2, 1, sizeof(int));
    struct blocked g, p;
    ct_thread_t tg, tp;
    int v = 1, out = 0;

    cr_assert_eq(ct_shm_queue_put(full, &v, 0), CT_OK);
    start_blocked(&tg, &g, empty, 0, 0);
    start_blocked(&tp, &p, full, 1, 2);
    cr_assert_eq(ct_shm_queue_shutdown(empty, false), CT_OK);
    cr_assert_eq(ct_shm_queue_shutdown(full, false), CT_OK);
    cr_assert_eq(ct_thread_join(&tg, CT_SEC(60)), CT_OK);
    cr_assert_eq(ct_thread_join(&tp, CT_SEC(60)), CT_OK);
    cr_assert_eq(atomic_load(&g.rc), CT_ESHUTDOWN);
    cr_assert_eq(atomic_load(&p.rc), CT_ESHUTDOWN);
    cr_assert_lt(g.took, CT_SEC(30));
    cr_assert_lt(p.took, CT_SEC(30));
    cr_assert_eq(ct_shm_queue_get(full, &out, 0), CT_OK, "the item put before stays");
    cr_assert_eq(out, 1);
}

struct mpmc {
    struct qarena *a;
    uint32_t producer;
    int n;
    int rc;
};

static void mpmc_produce(void *arg)
{
    struct mpmc *w = arg;
    w->rc = qrole_produce(w->a, w->producer, w->n);
}

static void mpmc_consume(void *arg)
{
    struct mpmc *w = arg;
    w->rc = qrole_consume(w->a, w->n);
}

/* A qarena in ordinary memory (static: one test uses it), with its queue
 * initialised. */
static struct {
    alignas(64) unsigned char b[sizeof(struct qarena) + 4096];
} local_arena;

static struct qarena *qarena_local(void)
{
    struct qarena *a = (struct qarena *)local_arena.b;

    cr_assert_leq(QARENA_BYTES, sizeof local_arena.b);
    memset(&local_arena, 0, sizeof local_arena);
    cr_assert_eq(ct_shm_queue_init(qarena_queue(a), QARENA_BYTES - QARENA_QUEUE_OFF,
                                   QARENA_CAPACITY, sizeof(struct qitem)), CT_OK);
    return a;
}

static void assert_all_seen_once(struct qarena *a, int producers, int n)
{
    for (int p = 0; p < producers; p++)
        for (int s = 0; s < n; s++)
            cr_assert_eq(atomic_load(&a->seen[p][s]), 1, "item %d of producer %d seen %d times",
                         s, p, atomic_load(&a->seen[p][s]));
    cr_assert_eq(atomic_load(&a->failures), 0);
    cr_assert(ct_shm_queue_empty(qarena_queue(a)));
}

Test(shm_queue, threads_deliver_each_item_once_intact_and_in_order)
{
    enum { PRODUCERS = 4, CONSUMERS = 2, N = 2000 / STRESS_SCALE };
    struct qarena *a = qarena_local();
    struct mpmc w[PRODUCERS + CONSUMERS];
    ct_thread_t t[PRODUCERS + CONSUMERS];

    for (int i = 0; i < PRODUCERS + CONSUMERS; i++) {
        w[i].a = a;
        w[i].producer = (uint32_t)i;
        w[i].n = i < PRODUCERS ? N : PRODUCERS * N / CONSUMERS;
        cr_assert_eq(ct_thread_start(&t[i], i < PRODUCERS ? mpmc_produce : mpmc_consume, &w[i]),
                     CT_OK);
    }
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++) {
        cr_assert_eq(ct_thread_join(&t[i], CT_SEC(120)), CT_OK);
        cr_assert_eq(w[i].rc, 0, "worker %d", i);
    }
    assert_all_seen_once(a, PRODUCERS, N);
}

/* ---- across processes ------------------------------------------------------------- */

#if !defined(_WIN32) && defined(CT_TEST_SHM_QUEUE_SHARES)
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fork_reap.h"

extern char **environ;

static struct qarena *qarena_region(ct_shm_t *r, const char *name)
{
    struct qarena *a;

    cr_assert_eq(ct_shm_create(r, name, QARENA_BYTES), CT_OK);
    a = ct_shm_base(r);
    cr_assert_eq(ct_shm_queue_init(qarena_queue(a), QARENA_BYTES - QARENA_QUEUE_OFF,
                                   QARENA_CAPACITY, sizeof(struct qitem)), CT_OK);
    return a;
}

static pid_t fork_producer(struct qarena *a, uint32_t p, int n)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(qrole_produce(a, p, n) ? 1 : 0);
    cr_assert(pid > 0, "fork failed");
    return pid;
}

static pid_t fork_consumer(struct qarena *a, int n)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(qrole_consume(a, n) ? 1 : 0);
    cr_assert(pid > 0, "fork failed");
    return pid;
}

static void reap_ok(pid_t pid, const char *what)
{
    int st = ct_test_reap(pid, CT_SEC(120), CT_MS(2));
    cr_assert_eq(st, 0, "%s: child %ld ended with %d", what, (long)pid, st);
}

Test(shm_queue, forked_producers_and_consumers_deliver_each_item_once)
{
    enum { PRODUCERS = 3, CONSUMERS = 2, N = 1500 };
    ct_shm_t r;
    struct qarena *a = qarena_region(&r, NULL);
    pid_t pid[PRODUCERS + CONSUMERS];

    for (int i = 0; i < CONSUMERS; i++)
        pid[i] = fork_consumer(a, PRODUCERS * N / CONSUMERS);
    for (int p = 0; p < PRODUCERS; p++)
        pid[CONSUMERS + p] = fork_producer(a, (uint32_t)p, N);
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        reap_ok(pid[i], "queue child");
    assert_all_seen_once(a, PRODUCERS, N);
    cr_assert_eq(atomic_load(&a->got), PRODUCERS * N);
    cr_assert_eq(ct_shm_close(&r), CT_OK);
}

Test(shm_queue, the_parent_consumes_what_forked_children_produce)
{
    enum { PRODUCERS = 2, N = 1000 };
    ct_shm_t r;
    struct qarena *a = qarena_region(&r, NULL);
    pid_t pid[PRODUCERS];

    for (int p = 0; p < PRODUCERS; p++)
        pid[p] = fork_producer(a, (uint32_t)p, N);
    cr_assert_eq(qrole_consume(a, PRODUCERS * N), 0);
    for (int p = 0; p < PRODUCERS; p++)
        reap_ok(pid[p], "producer");
    assert_all_seen_once(a, PRODUCERS, N);
    cr_assert_eq(ct_shm_close(&r), CT_OK);
}

Test(shm_queue, a_shutdown_wakes_a_getter_in_another_process)
{
    ct_shm_t r;
    struct qarena *a = qarena_region(&r, NULL);
    pid_t pid = fork();

    if (pid == 0)
        _exit(qrole_await_shutdown(a));
    cr_assert(pid > 0);
    cr_assert(t_await(&a->arrived, CT_SEC(60)));
    t_pause_ms(50); /* widens the window: the child is probably asleep in get */
    cr_assert_eq(ct_shm_queue_shutdown(qarena_queue(a), false), CT_OK);
    reap_ok(pid, "getter");
    cr_assert_eq(atomic_load(&a->failures), 0);
    cr_assert_eq(ct_shm_close(&r), CT_OK);
}

Test(shm_queue, a_process_killed_while_it_waits_leaves_the_queue_working)
{
    enum { N = 300 };
    ct_shm_t r;
    struct qarena *a = qarena_region(&r, NULL);
    pid_t dead, cons;
    int status;

    dead = fork();
    if (dead == 0) {
        struct qitem it;
        atomic_fetch_add(&a->arrived, 1);
        (void)ct_shm_queue_get(qarena_queue(a), &it, QARENA_WAIT);
        _exit(3); /* not reached: killed while it waits */
    }
    cr_assert(dead > 0);
    cr_assert(t_await(&a->arrived, CT_SEC(60)));
    t_pause_ms(50); /* widens the window: the child is probably asleep in get */
    cr_assert_eq(kill(dead, SIGKILL), 0);
    cr_assert_eq(waitpid(dead, &status, 0), dead);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the waiter was killed");

    cons = fork_consumer(a, N);
    cr_assert_eq(qrole_produce(a, 0, N), 0);
    reap_ok(cons, "consumer after the kill");
    assert_all_seen_once(a, 1, N);
    cr_assert_eq(ct_shm_close(&r), CT_OK);
}

static pid_t spawn_peer(const char *name, const char *role, int x, int n)
{
    char xs[16], ns[16];
    char *argv[] = { (char *)CT_TEST_SHM_QUEUE_PEER, (char *)name, (char *)role, xs, ns, NULL };
    pid_t pid;

    (void)snprintf(xs, sizeof xs, "%d", x);
    (void)snprintf(ns, sizeof ns, "%d", n);
    if (strcmp(role, "consume") == 0) {
        argv[3] = xs;
        argv[4] = NULL;
    }
    cr_assert_eq(posix_spawn(&pid, CT_TEST_SHM_QUEUE_PEER, NULL, NULL, argv, environ), 0,
                 "cannot start %s", CT_TEST_SHM_QUEUE_PEER);
    return pid;
}

Test(shm_queue, programs_that_open_the_region_by_name_share_the_queue)
{
    enum { PRODUCERS = 2, N = 800 };
    char name[64];
    ct_shm_t r;
    struct qarena *a;
    pid_t pid[PRODUCERS + 2];

    (void)snprintf(name, sizeof name, "/ct_test_shmq_%ld", (long)getpid());
    (void)ct_shm_unlink(name);
    a = qarena_region(&r, name);
    /* two producer programs, one consumer program, and the parent consumes too */
    for (int p = 0; p < PRODUCERS; p++)
        pid[p] = spawn_peer(name, "produce", p, N);
    pid[PRODUCERS] = spawn_peer(name, "consume", PRODUCERS * N / 2, 0);
    cr_assert_eq(qrole_consume(a, PRODUCERS * N / 2), 0);
    for (int i = 0; i <= PRODUCERS; i++)
        reap_ok(pid[i], "peer");
    assert_all_seen_once(a, PRODUCERS, N);

    /* a getter program asleep in get wakes on the parent's shutdown */
    atomic_store(&a->arrived, 0);
    pid[0] = spawn_peer(name, "shutdown", 0, 0);
    cr_assert(t_await(&a->arrived, CT_SEC(60)));
    t_pause_ms(50);
    cr_assert_eq(ct_shm_queue_shutdown(qarena_queue(a), false), CT_OK);
    reap_ok(pid[0], "peer shutdown");
    cr_assert_eq(atomic_load(&a->failures), 0);
    cr_assert_eq(ct_shm_unlink(name), CT_OK);
    cr_assert_eq(ct_shm_close(&r), CT_OK);
}

#endif
