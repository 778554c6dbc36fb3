/* Torture: threads (ct_thread_start / ct_thread_join timeouts).
 *
 * Each step starts a child that sleeps on a private gate word, joins it with
 * a short timeout (the child is still blocked, so this must time out, and
 * not early), opens the gate, and joins again: with CT_FOREVER, or by
 * polling with short timeouts.  A second join must say CT_OK (handles join any number of times).  Sometimes
 * the child runs free instead and the join races with its exit.
 *
 * Invariants: join times out while the child runs, never early; join returns
 * CT_OK once the child finished (no lost wake-up: within the bound after the
 * gate opens); joining twice is CT_OK; bad timeouts are rejected; thread
 * identities are non-zero and unique across every thread of the run (the
 * contract: an ident is never reused within a process), workers and every
 * child ever started: all go into one set, and a second insertion fails.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>

#include "torture.h"

enum { C_STARTS, C_JOIN_TIMEOUTS, C_JOINS, C_POLLS, C_BAD_ARGS };
static const char *const names[] = { "starts", "join_timeouts", "joins", "polls",
                                     "bad_args", NULL };

struct child {
    uint32_t gate;                 /* 0 closed, 1 open (atomic via the casts) */
    uint64_t ident;
    uint64_t parent_ident;
};

static void child_main(void *p)
{
    struct child *c = p;
    c->ident = ct_thread_ident();
    while (atomic_load_explicit((_Atomic uint32_t *)&c->gate, memory_order_acquire) == 0)
        (void)ct_wait(&c->gate, 0, CT_FOREVER);
}

/* Every identity seen in the run: an open-addressing set, under `lock`. */
struct state {
    ct_lock_t lock;
    uint64_t *slots;               /* 0 = empty (no ident is 0) */
    size_t cap, count;             /* cap a power of two, count <= cap / 2 */
    bool worker_seen[256];         /* [id]: written by that worker only */
};

static size_t slot_of(uint64_t ident, size_t cap)
{
    return (size_t)((ident * UINT64_C(0x9E3779B97F4A7C15)) >> 17) & (cap - 1);
}

static bool put(uint64_t *slots, size_t cap, uint64_t ident)
{
    for (size_t i = slot_of(ident, cap);; i = (i + 1) & (cap - 1)) {
        if (slots[i] == ident)
            return false;
        if (slots[i] == 0) {
            slots[i] = ident;
            return true;
        }
    }
}

/* Adds ident; false if it was there already (a reused identity). */
static bool ident_is_new(struct state *s, uint64_t ident)
{
    bool fresh;
    ct_lock_acquire(&s->lock);
    if (2 * (s->count + 1) > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 4096;
        uint64_t *slots = calloc(cap, sizeof *slots);
        if (slots == NULL) {
            fprintf(stderr, "torture thread: out of memory for the identity set\n");
            exit(2);
        }
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i] != 0)
                (void)put(slots, cap, s->slots[i]);
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    fresh = put(s->slots, s->cap, ident);
    s->count += fresh;
    ct_lock_release(&s->lock);
    return fresh;
}

static void *setup(int nthreads)
{
    (void)nthreads;
    return calloc(1, sizeof(struct state));
}

static void teardown(void *p)
{
    struct state *s = p;
    free(s->slots);
    free(s);
}

static void step(void *p, struct torture_worker *w)
{
    struct state *s = p;
    struct child c = { 0, 0, ct_thread_ident() };
    ct_thread_t t;
    int rc;
    bool free_run = torture_below(w, 4) == 0;

    if (w->id < 256 && !s->worker_seen[w->id]) {
        s->worker_seen[w->id] = true;      /* the worker's own identity, once */
        if (!ident_is_new(s, c.parent_ident))
            torture_fail(w, "worker identity %llu already seen",
                         (unsigned long long)c.parent_ident);
    }
    torture_delay(w);
    if (free_run)
        atomic_store((_Atomic uint32_t *)&c.gate, 1);
    torture_begin(w, "ct_thread_start");
    rc = ct_thread_start(&t, child_main, &c);
    torture_end(w);
    if (rc == CT_EAGAIN)
        return;                    /* out of threads for a moment: fine */
    if (rc != CT_OK) {
        torture_fail(w, "ct_thread_start returned %s", ct_strerror(rc));
        return;
    }
    w->counts[C_STARTS]++;
    if (!free_run) {
        int64_t timeout = torture_below(w, 2) ? 0 : 1 + torture_below(w, 500000);
        torture_begin(w, "ct_thread_join(short)");
        int64_t t0 = torture_now();
        rc = ct_thread_join(&t, timeout);
        int64_t took = torture_now() - t0;
        torture_end(w);
        if (rc != CT_ETIMEDOUT)
            torture_fail(w, "join of a blocked child returned %s", ct_strerror(rc));
        else
            torture_check_not_early(w, "ct_thread_join", timeout, took);
        w->counts[C_JOIN_TIMEOUTS]++;
        if (ct_thread_join(&t, -7) != CT_EINVAL)
            torture_fail(w, "join with timeout -7 was not CT_EINVAL");
        w->counts[C_BAD_ARGS]++;
        atomic_store_explicit((_Atomic uint32_t *)&c.gate, 1, memory_order_release);
        ct_wake_all(&c.gate);
    }
    torture_begin(w, "ct_thread_join");
    if (torture_below(w, 2)) {
        rc = ct_thread_join(&t, CT_FOREVER);
    } else {
        while ((rc = ct_thread_join(&t, CT_US(1 + torture_below(w, 200)))) == CT_ETIMEDOUT)
            w->counts[C_POLLS]++;
    }
    torture_end(w);
    if (rc != CT_OK) {
        torture_fail(w, "join returned %s", ct_strerror(rc));
        return;
    }
    w->counts[C_JOINS]++;
    if (ct_thread_join(&t, 0) != CT_OK)
        torture_fail(w, "second join was not CT_OK");
    if (c.ident == 0 || c.ident == c.parent_ident)
        torture_fail(w, "child identity %llu (parent %llu)", (unsigned long long)c.ident,
                     (unsigned long long)c.parent_ident);
    else if (!ident_is_new(s, c.ident))
        torture_fail(w, "child identity %llu was already used by another thread",
                     (unsigned long long)c.ident);
}

const struct torture_prim torture_thread = {
    .name = "thread",
    .invariants = "join times out (never early) while the child runs, returns once it "
                  "finished, again is CT_OK, bad timeouts rejected, identities unique",
    .count_names = names,
    .setup = setup,
    .step = step,
    .quiesce = NULL,
    .teardown = teardown,
    .no_signals_under_tsan = true,
};
