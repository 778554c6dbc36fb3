/* Torture: Queue.
 *
 * One bounded queue (8 slots), FIFO, LIFO or PRIORITY in turn (the kind
 * changes every round).  Workers put new items, get items (and mark each one
 * done), join, and poll qsize/full, with timeouts 0, short, long and
 * CT_FOREVER.  Every round ends with a shutdown while the workers are still
 * stepping — draining (non-immediate) and immediate in alternate rounds — so
 * every blocked putter and getter must wake with CT_ESHUTDOWN and check in.
 *
 * Each item is a fresh id of the round; per id we record whether its put
 * succeeded and how many gets returned it.  Invariants:
 *   - every item is delivered at most once, and never if its put failed;
 *   - FIFO: one consumer sees the items of one producer in put order;
 *   - at rest (quiesce), after draining what is left: every item put was
 *     delivered exactly once, except in immediate rounds, where at most the
 *     8 items the queue can hold were dropped by the shutdown; the unfinished
 *     count matches exactly (join(0) succeeds, one more task_done is
 *     CT_EOVERFLOW; every worker's task_done succeeded);
 *   - CT_ESHUTDOWN only after the shutdown began; a timed call that timed
 *     out waited at least its timeout (signal storm); qsize <= maxsize;
 *   - no lost wake-up: blocked callers return once the shutdown happened;
 *   - bad timeouts are rejected; destroy at rest succeeds.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "torture.h"

#define MAXSIZE 8
#define MAX_ITEMS (1 << 18)
#define MAX_WORKERS 256

enum { C_PUTS, C_GETS, C_TIMEOUTS, C_SHUTDOWNS, C_JOINS, C_DROPPED, C_BAD_ARGS, C_ROUNDS };
static const char *const names[] = { "puts", "gets", "timeouts", "shutdown_rcs", "joins",
                                     "dropped", "bad_args", "rounds", NULL };

enum { ITEM_NEW = 0, ITEM_PUT_OK = 1, ITEM_PUT_FAILED = 2 };

struct state {
    ct_queue_t q;
    int kind;
    int nthreads;
    bool immediate;                  /* how this round's shutdown goes */
    atomic_int shut;                 /* 1 from just before the shutdown call */
    atomic_uint next_id;
    _Atomic uint8_t put_state[MAX_ITEMS];
    _Atomic uint8_t delivered[MAX_ITEMS];
    uint16_t producer[MAX_ITEMS];    /* written before the put, read after the get */
    uint32_t seq[MAX_ITEMS];
    uint32_t next_seq[MAX_WORKERS];                 /* per producer, its own */
    uint32_t *last_seen;             /* [consumer * nthreads + producer]: seq + 1 */
    uint64_t rounds;
};

static int cmp_items(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return (x > y) - (x < y);
}

static void start_round(struct state *s)
{
    if (ct_queue_init(&s->q, s->kind, MAXSIZE, cmp_items) != CT_OK)
        abort();
    atomic_store(&s->shut, 0);
    atomic_store(&s->next_id, 0);
    memset((void *)s->put_state, 0, sizeof s->put_state);
    memset((void *)s->delivered, 0, sizeof s->delivered);
    memset(s->last_seen, 0, sizeof(uint32_t) * (size_t)s->nthreads * (size_t)s->nthreads);
    s->immediate = s->rounds % 2 == 1;
}

static void *setup(int nthreads)
{
    struct state *s = calloc(1, sizeof *s);
    if (s == NULL || nthreads > MAX_WORKERS)
        abort();
    s->nthreads = nthreads;
    s->last_seen = calloc((size_t)nthreads * (size_t)nthreads, sizeof(uint32_t));
    if (s->last_seen == NULL)
        abort();
    s->kind = CT_QUEUE_FIFO;
    start_round(s);
    return s;
}

static void teardown(void *p)
{
    struct state *s = p;
    (void)ct_queue_destroy(&s->q);
    free(s->last_seen);
    free(s);
}

static int64_t pick_timeout(struct torture_worker *w)
{
    uint32_t r = torture_below(w, 20);
    return r < 4 ? 0 : r < 7 ? CT_FOREVER : r < 16 ? 1 + torture_below(w, 300000)
                                                  : CT_MS(1) + torture_below(w, CT_MS(20));
}

/* A call returned rc after took_ns: CT_ESHUTDOWN only once shut, timeouts
 * not early.  Returns true if the call succeeded. */
static bool check_rc(struct state *s, struct torture_worker *w, const char *what, int64_t timeout,
                     int rc, int64_t took)
{
    if (rc == CT_OK)
        return true;
    if (rc == CT_ESHUTDOWN) {
        w->counts[C_SHUTDOWNS]++;
        if (!atomic_load(&s->shut))
            torture_fail(w, "%s returned CT_ESHUTDOWN before any shutdown", what);
        return false;
    }
    if (rc == CT_ETIMEDOUT && timeout != CT_FOREVER) {
        w->counts[C_TIMEOUTS]++;
        torture_check_not_early(w, what, timeout, took);
        return false;
    }
    torture_fail(w, "%s(%lld) returned %s", what, (long long)timeout, ct_strerror(rc));
    return false;
}

static void do_put(struct state *s, struct torture_worker *w)
{
    unsigned id = atomic_fetch_add(&s->next_id, 1);
    int64_t timeout = pick_timeout(w);

    if (id >= MAX_ITEMS)
        return;                                  /* this round has enough items */
    s->producer[id] = (uint16_t)w->id;
    s->seq[id] = s->next_seq[w->id]++;
    torture_begin(w, timeout == CT_FOREVER ? "queue_put(forever)" : "queue_put(timed)");
    int64_t t0 = torture_now();
    int rc = ct_queue_put(&s->q, (void *)(uintptr_t)(id + 1), timeout);
    int64_t took = torture_now() - t0;
    torture_end(w);
    bool ok = check_rc(s, w, "queue_put", timeout, rc, took);
    atomic_store(&s->put_state[id], ok ? ITEM_PUT_OK : ITEM_PUT_FAILED);
    if (ok)
        w->counts[C_PUTS]++;
}

/* Records the delivery of an item (by consumer `who`, or the driver: -1). */
static void delivered(struct state *s, struct torture_worker *w, void *item, int who)
{
    uintptr_t v = (uintptr_t)item;
    if (v == 0 || v > MAX_ITEMS) {
        torture_fail(w, "got an item that was never put: %lu", (unsigned long)v);
        return;
    }
    unsigned id = (unsigned)(v - 1);
    if (atomic_fetch_add(&s->delivered[id], 1) != 0)
        torture_fail(w, "item %u delivered twice", id);
    if (atomic_load(&s->put_state[id]) == ITEM_PUT_FAILED)
        torture_fail(w, "item %u delivered although its put failed", id);
    if (who >= 0 && s->kind == CT_QUEUE_FIFO) {
        uint32_t *last = &s->last_seen[(size_t)who * (size_t)s->nthreads + s->producer[id]];
        if (s->seq[id] + 1 <= *last)
            torture_fail(w, "FIFO: item %u (producer %u seq %u) after seq %u", id,
                         s->producer[id], s->seq[id], *last - 1);
        *last = s->seq[id] + 1;
    }
}

static void do_get(struct state *s, struct torture_worker *w)
{
    int64_t timeout = pick_timeout(w);
    void *item;

    torture_begin(w, timeout == CT_FOREVER ? "queue_get(forever)" : "queue_get(timed)");
    int64_t t0 = torture_now();
    int rc = ct_queue_get(&s->q, &item, timeout);
    int64_t took = torture_now() - t0;
    torture_end(w);
    if (!check_rc(s, w, "queue_get", timeout, rc, took))
        return;
    w->counts[C_GETS]++;
    delivered(s, w, item, w->id);
    torture_delay(w);                            /* "process" it */
    if ((rc = ct_queue_task_done(&s->q)) != CT_OK)
        torture_fail(w, "task_done after a get returned %s", ct_strerror(rc));
}

static void step(void *p, struct torture_worker *w)
{
    struct state *s = p;
    uint32_t r = torture_below(w, 100);

    torture_delay(w);
    if (r < 45) {
        do_put(s, w);
    } else if (r < 90) {
        do_get(s, w);
    } else if (r < 94) {
        int64_t timeout = torture_below(w, 2) ? 0 : 1 + torture_below(w, CT_MS(2));
        torture_begin(w, "queue_join(timed)");
        int64_t t0 = torture_now();
        int rc = ct_queue_join(&s->q, timeout);
        int64_t took = torture_now() - t0;
        torture_end(w);
        w->counts[C_JOINS]++;
        if (rc == CT_ETIMEDOUT)
            torture_check_not_early(w, "queue_join", timeout, took);
        else if (rc != CT_OK)
            torture_fail(w, "queue_join returned %s", ct_strerror(rc));
    } else if (r < 98) {
        size_t n = ct_queue_qsize(&s->q);
        if (n > MAXSIZE)
            torture_fail(w, "qsize %lu above maxsize %d", (unsigned long)n, MAXSIZE);
        (void)ct_queue_full(&s->q);
        (void)ct_queue_empty(&s->q);
    } else {
        int want;
        int64_t t = torture_bad_timeout(w, &want);
        void *item = NULL;
        int rc = torture_below(w, 2) ? ct_queue_put(&s->q, NULL, t) : ct_queue_get(&s->q, &item, t);
        if (rc != want)
            torture_fail(w, "queue call with timeout %lld returned %s", (long long)t,
                         ct_strerror(rc));
        w->counts[C_BAD_ARGS]++;
    }
}

/* Round end, workers still stepping: shut the queue down, which must wake
 * every blocked putter and getter. */
static void stop(void *p)
{
    struct state *s = p;
    atomic_store(&s->shut, 1);
    if (ct_queue_shutdown(&s->q, s->immediate) != CT_OK)
        abort();
}

static void quiesce(void *p, struct torture_worker *ws, int nthreads)
{
    struct state *s = p;
    struct torture_worker *w = &ws[0];
    unsigned n = atomic_load(&s->next_id);
    uint64_t dropped = 0;
    void *item;
    int rc;

    (void)nthreads;
    if (n > MAX_ITEMS)
        n = MAX_ITEMS;
    /* Drain: a non-immediate shutdown left the items for the gets. */
    while ((rc = ct_queue_get(&s->q, &item, 0)) == CT_OK) {
        if (s->immediate)
            torture_fail(w, "get returned an item after an immediate shutdown");
        delivered(s, w, item, -1);
        if (ct_queue_task_done(&s->q) != CT_OK)
            torture_fail(w, "task_done while draining failed");
    }
    if (rc != CT_ESHUTDOWN)
        torture_fail(w, "get on a drained shut-down queue returned %s", ct_strerror(rc));
    if (ct_queue_put(&s->q, NULL, 0) != CT_ESHUTDOWN)
        torture_fail(w, "put after shutdown did not return CT_ESHUTDOWN");
    for (unsigned id = 0; id < n; id++) {
        uint8_t ps = atomic_load(&s->put_state[id]), d = atomic_load(&s->delivered[id]);
        if (ps == ITEM_PUT_OK && d == 0)
            dropped++;
        else if (ps == ITEM_NEW && d != 0)
            torture_fail(w, "item %u delivered but its put never returned", id);
    }
    if (dropped > (s->immediate ? MAXSIZE : 0))
        torture_fail(w, "%llu items lost (%s shutdown)", (unsigned long long)dropped,
                     s->immediate ? "immediate" : "draining");
    w->counts[C_DROPPED] += dropped;
    if ((rc = ct_queue_join(&s->q, 0)) != CT_OK)
        torture_fail(w, "join at rest returned %s: unfinished count wrong", ct_strerror(rc));
    if ((rc = ct_queue_task_done(&s->q)) != CT_EOVERFLOW)
        torture_fail(w, "extra task_done at rest returned %s", ct_strerror(rc));
    if ((rc = ct_queue_destroy(&s->q)) != CT_OK)
        torture_fail(w, "destroy at rest returned %s", ct_strerror(rc));
    w->counts[C_ROUNDS]++;
    s->rounds++;
    s->kind = (int)(s->rounds / 2 % 3);
    start_round(s);
}

const struct torture_prim torture_queue = {
    .name = "queue",
    .invariants = "each item delivered exactly once (or dropped by an immediate shutdown), "
                  "FIFO per producer, exact task_done/join count, shutdown wakes all, timed never "
                  "early, bad timeouts rejected",
    .count_names = names,
    .setup = setup,
    .step = step,
    .quiesce = quiesce,
    .stop = stop,
    .teardown = teardown,
};
