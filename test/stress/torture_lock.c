/* Torture: Lock.
 *
 * Every worker step takes the lock one of three ways (blocking, try, timed
 * with a random timeout from 0 to a few ms, or CT_FOREVER), runs a critical
 * section with a random delay, and releases it — itself, or (one step in
 * twenty) by handing the release to whichever worker next looks at the
 * mailbox: a Lock may be released by any thread.
 *
 * Invariants:
 *   - mutual exclusion: an owner word exchanged on entry and exit of every
 *     critical section, and a plain counter incremented inside it that must
 *     equal the number of acquisitions whenever all workers are at rest;
 *   - timed acquires that time out waited at least their timeout (signals);
 *   - bad timeouts are rejected without touching the lock;
 *   - no lost wake-up: at each round end, every worker blocked in an acquire
 *     gets through within the bound (checked by the driver);
 *   - at rest the lock is free.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

#include "torture.h"

enum { C_BLOCKING, C_TRY, C_TRY_BUSY, C_TIMED, C_TIMEOUTS, C_HANDOFF, C_BAD_ARGS };
static const char *const names[] = { "acquire", "try", "try_busy", "timed", "timeouts",
                                     "handoff", "bad_args", NULL };

struct state {
    ct_lock_t lock;
    atomic_int owner;              /* worker id + 1 inside the critical section */
    long counter;                  /* plain: only written under the lock */
    atomic_int mailbox;            /* 1: the lock is held, release it for me */
};

static void *setup(int nthreads)
{
    (void)nthreads;
    return calloc(1, sizeof(struct state));
}

static void teardown(void *p) { free(p); }

/* Releases a lock handed over through the mailbox, if any. */
static void serve_mailbox(struct state *s, struct torture_worker *w)
{
    int one = 1;
    if (atomic_load_explicit(&s->mailbox, memory_order_relaxed) &&
        atomic_compare_exchange_strong_explicit(&s->mailbox, &one, 0, memory_order_acquire,
                                                memory_order_relaxed)) {
        torture_begin(w, "release for another thread");
        if (ct_lock_release(&s->lock) != CT_OK)
            torture_fail(w, "release on behalf of another thread failed");
        torture_end(w);
    }
}

static void critical_section(struct state *s, struct torture_worker *w)
{
    int me = w->id + 1, prev;
    if ((prev = atomic_exchange(&s->owner, me)) != 0)
        torture_fail(w, "entered while worker %d is inside", prev - 1);
    s->counter++;
    torture_delay(w);
    if ((prev = atomic_exchange(&s->owner, 0)) != me)
        torture_fail(w, "owner word changed to %d inside the critical section", prev);
}

static void step(void *p, struct torture_worker *w)
{
    struct state *s = p;
    uint32_t how = torture_below(w, 100);
    bool held = false;

    serve_mailbox(s, w);
    torture_delay(w);
    if (how < 35) {
        torture_begin(w, "acquire");
        ct_lock_acquire(&s->lock);
        held = true;
        w->counts[C_BLOCKING]++;
    } else if (how < 60) {
        torture_begin(w, "try_acquire");
        held = ct_lock_try_acquire(&s->lock);
        w->counts[held ? C_TRY : C_TRY_BUSY]++;
    } else if (how < 97) {
        int64_t timeout;
        uint32_t r = torture_below(w, 10);
        if (r == 0)
            timeout = 0;
        else if (r == 1)
            timeout = CT_FOREVER;
        else if (r < 8)
            timeout = 1 + torture_below(w, 200000);          /* up to 200 us */
        else
            timeout = CT_MS(1) + torture_below(w, 4000000);  /* 1-5 ms */
        torture_begin(w, "acquire_timed");
        int64_t t0 = torture_now();
        int rc = ct_lock_acquire_timed(&s->lock, timeout);
        int64_t took = torture_now() - t0;
        if (torture_timed_acquired(w, "ct_lock_acquire_timed", timeout, rc, took,
                                   &w->counts[C_TIMEOUTS])) {
            held = true;
            w->counts[C_TIMED]++;
        }
    } else {
        int want;
        int64_t t = torture_bad_timeout(w, &want);
        torture_begin(w, "acquire_timed(bad)");
        int rc = ct_lock_acquire_timed(&s->lock, t);
        if (rc != want)
            torture_fail(w, "acquire_timed(%lld) returned %s", (long long)t, ct_strerror(rc));
        w->counts[C_BAD_ARGS]++;
    }
    torture_end(w);
    if (!held)
        return;
    critical_section(s, w);
    if (torture_below(w, 20) == 0 && w->nthreads > 1) {
        /* Hand the release over to whichever worker looks first; if none
         * did after a short delay, serve it ourselves, so that nothing is
         * left pending when the step returns. */
        atomic_store_explicit(&s->mailbox, 1, memory_order_release);
        w->counts[C_HANDOFF]++;
        torture_delay(w);
        serve_mailbox(s, w);
        return;
    }
    torture_begin(w, "release");
    if (ct_lock_release(&s->lock) != CT_OK)
        torture_fail(w, "release of a held lock failed");
    torture_end(w);
}

static void quiesce(void *p, struct torture_worker *ws, int nthreads)
{
    struct state *s = p;
    uint64_t acquisitions = 0;

    if (atomic_load(&s->mailbox))
        torture_fail(&ws[0], "a hand-off was left pending");
    for (int i = 0; i < nthreads; i++)
        acquisitions += ws[i].counts[C_BLOCKING] + ws[i].counts[C_TRY] + ws[i].counts[C_TIMED];
    if (ct_lock_locked(&s->lock))
        torture_fail(&ws[0], "lock still locked with every worker at rest");
    if ((uint64_t)s->counter != acquisitions)
        torture_fail(&ws[0], "counter %ld != %llu acquisitions (mutual exclusion broken)",
                     s->counter, (unsigned long long)acquisitions);
}

const struct torture_prim torture_lock = {
    .name = "lock",
    .invariants = "mutual exclusion (owner word + counter), cross-thread release, "
                  "timed never early, bad timeouts rejected, no lost wake-up",
    .count_names = names,
    .setup = setup,
    .step = step,
    .quiesce = quiesce,
    .teardown = teardown,
};
