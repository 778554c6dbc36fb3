/* Torture: RLock.
 *
 * Every worker step takes the RLock one of three ways (blocking, try, timed
 * with a random timeout from 0 to a few ms, or CT_FOREVER), re-enters it a
 * random number of times (1-4 levels, each by acquire, try or timed: re-entry
 * never waits), runs a critical section with random delays at every level,
 * and releases every level.  Workers that do not own it check that they
 * cannot release it.
 *
 * Invariants:
 *   - mutual exclusion: an owner word exchanged on entry and exit, and a plain
 *     counter that must equal the number of first-level acquisitions at rest;
 *   - recursion: ct_rlock_count equals the depth the worker took, is_owned
 *     is true inside and false outside, re-entry with timeout 0 succeeds;
 *   - only the owner releases: a release by a non-owner is CT_EPERM and
 *     changes nothing;
 *   - timed acquires that time out waited at least their timeout (signals);
 *   - bad timeouts are rejected without touching the lock;
 *   - no lost wake-up: at each round end, every blocked acquirer gets through
 *     within the bound (checked by the driver);
 *   - at rest the lock is free (the driver can take and release it).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

#include "torture.h"

enum { C_BLOCKING, C_TRY, C_TRY_BUSY, C_TIMED, C_TIMEOUTS, C_REENTRIES, C_EPERM, C_BAD_ARGS };
static const char *const names[] = { "acquire", "try", "try_busy", "timed", "timeouts",
                                     "reentries", "eperm", "bad_args", NULL };

struct state {
    ct_rlock_t lock;
    atomic_int owner;              /* worker id + 1 inside, 0 outside */
    long counter;                  /* plain: only written under the lock */
};

static void *setup(int nthreads)
{
    (void)nthreads;
    return calloc(1, sizeof(struct state));
}

static void teardown(void *p) { free(p); }

static int64_t random_timeout(struct torture_worker *w)
{
    uint32_t r = torture_below(w, 10);
    if (r == 0)
        return 0;
    if (r == 1)
        return CT_FOREVER;
    if (r < 8)
        return 1 + torture_below(w, 200000);          /* up to 200 us */
    return CT_MS(1) + torture_below(w, 4000000);      /* 1-5 ms */
}

/* Takes one more level while owning the lock at `depth` levels. */
static void reenter(struct state *s, struct torture_worker *w, unsigned depth)
{
    uint32_t how = torture_below(w, 3);
    int rc;
    if (how == 0) {
        rc = ct_rlock_acquire(&s->lock);
    } else if (how == 1) {
        rc = ct_rlock_try_acquire(&s->lock) ? CT_OK : CT_ETIMEDOUT;
    } else {
        int64_t t = torture_below(w, 2) ? 0 : random_timeout(w);
        rc = ct_rlock_acquire_timed(&s->lock, t);
    }
    if (rc != CT_OK)
        torture_fail(w, "re-entry (how %u) at depth %u returned %s", how, depth,
                     ct_strerror(rc));
    w->counts[C_REENTRIES]++;
}

static void step(void *p, struct torture_worker *w)
{
    struct state *s = p;
    uint32_t how = torture_below(w, 100);
    bool held = false;

    torture_delay(w);
    if (ct_rlock_is_owned(&s->lock) || ct_rlock_count(&s->lock) != 0)
        torture_fail(w, "owns the lock (count %u) before acquiring it",
                     ct_rlock_count(&s->lock));
    if (how < 30) {
        torture_begin(w, "rlock_acquire");
        int rc = ct_rlock_acquire(&s->lock);
        if (rc != CT_OK)
            torture_fail(w, "rlock_acquire returned %s", ct_strerror(rc));
        held = rc == CT_OK;
        w->counts[C_BLOCKING]++;
    } else if (how < 55) {
        torture_begin(w, "rlock_try_acquire");
        held = ct_rlock_try_acquire(&s->lock);
        w->counts[held ? C_TRY : C_TRY_BUSY]++;
    } else if (how < 90) {
        int64_t timeout = random_timeout(w);
        torture_begin(w, "rlock_acquire_timed");
        int64_t t0 = torture_now();
        int rc = ct_rlock_acquire_timed(&s->lock, timeout);
        int64_t took = torture_now() - t0;
        if (torture_timed_acquired(w, "ct_rlock_acquire_timed", timeout, rc, took,
                                   &w->counts[C_TIMEOUTS])) {
            held = true;
            w->counts[C_TIMED]++;
        }
    } else if (how < 96) {
        /* Not the owner: releasing must fail and change nothing. */
        torture_begin(w, "rlock_release(not owner)");
        int rc = ct_rlock_release(&s->lock);
        if (rc != CT_EPERM)
            torture_fail(w, "release by a non-owner returned %s", ct_strerror(rc));
        w->counts[C_EPERM]++;
    } else {
        int want;
        int64_t t = torture_bad_timeout(w, &want);
        torture_begin(w, "rlock_acquire_timed(bad)");
        int rc = ct_rlock_acquire_timed(&s->lock, t);
        if (rc != want)
            torture_fail(w, "rlock_acquire_timed(%lld) returned %s", (long long)t,
                         ct_strerror(rc));
        w->counts[C_BAD_ARGS]++;
    }
    torture_end(w);
    if (!held)
        return;

    int me = w->id + 1, prev;
    if ((prev = atomic_exchange(&s->owner, me)) != 0)
        torture_fail(w, "entered while worker %d is inside", prev - 1);
    s->counter++;
    unsigned depth = 1, extra = torture_below(w, 4);
    for (unsigned k = 0; k < extra; k++) {
        torture_delay(w);
        reenter(s, w, depth);
        depth++;
    }
    if (!ct_rlock_is_owned(&s->lock) || ct_rlock_count(&s->lock) != depth)
        torture_fail(w, "owner with depth %u sees is_owned=%d count=%u", depth,
                     ct_rlock_is_owned(&s->lock), ct_rlock_count(&s->lock));
    torture_delay(w);
    if ((prev = atomic_load(&s->owner)) != me)
        torture_fail(w, "owner word changed to %d inside the critical section", prev);
    torture_begin(w, "rlock_release");
    for (; depth > 1; depth--) {
        if (ct_rlock_release(&s->lock) != CT_OK)
            torture_fail(w, "release at depth %u failed", depth);
        if (ct_rlock_count(&s->lock) != depth - 1)
            torture_fail(w, "count %u after releasing to depth %u", ct_rlock_count(&s->lock),
                         depth - 1);
        torture_delay(w);
    }
    if ((prev = atomic_exchange(&s->owner, 0)) != me)
        torture_fail(w, "owner word changed to %d inside the critical section", prev);
    if (ct_rlock_release(&s->lock) != CT_OK)
        torture_fail(w, "last release failed");
    torture_end(w);
    if (ct_rlock_is_owned(&s->lock))
        torture_fail(w, "still owns the lock after releasing every level");
}

static void quiesce(void *p, struct torture_worker *ws, int nthreads)
{
    struct state *s = p;
    uint64_t acquisitions = 0;

    for (int i = 0; i < nthreads; i++)
        acquisitions += ws[i].counts[C_BLOCKING] + ws[i].counts[C_TRY] + ws[i].counts[C_TIMED];
    if ((uint64_t)s->counter != acquisitions)
        torture_fail(&ws[0], "counter %ld != %llu acquisitions (mutual exclusion broken)",
                     s->counter, (unsigned long long)acquisitions);
    if (!ct_rlock_try_acquire(&s->lock)) {
        torture_fail(&ws[0], "rlock still owned with every worker at rest");
        return;
    }
    if (ct_rlock_count(&s->lock) != 1 || ct_rlock_release(&s->lock) != CT_OK)
        torture_fail(&ws[0], "rlock at rest: count or release wrong");
}

const struct torture_prim torture_rlock = {
    .name = "rlock",
    .invariants = "mutual exclusion (owner word + counter), recursion count, only the owner "
                  "releases, timed never early, bad timeouts rejected, no lost wake-up",
    .count_names = names,
    .setup = setup,
    .step = step,
    .quiesce = quiesce,
    .teardown = teardown,
};
