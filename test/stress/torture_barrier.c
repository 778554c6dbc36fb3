/* Torture: Barrier.
 *
 * One barrier with one party per worker, so every worker takes part in every
 * generation.  A step is one wait (blocking, or timed with a random timeout:
 * a timeout breaks the barrier for everyone).  The action, run by the last
 * arrival, numbers the generations, checks the previous one and fails now
 * and then (which breaks the barrier).  A worker that finds the barrier
 * broken resets it (or aborts it again, or just goes on); at the round end
 * the driver aborts it, so that every waiter leaves, and resets it at rest.
 *
 * Invariants:
 *   - generations in lockstep: every successful wait of a worker sees the
 *     generation number right after the one its previous successful wait saw
 *     (a worker cannot skip or repeat a generation);
 *   - indexes a permutation: within a generation no index is returned twice,
 *     and when the next generation completes (all parties have recorded
 *     theirs) every index 0..parties-1 was returned exactly once;
 *   - indexes in arrival order: the parties a worker saw waiting (n_waiting)
 *     before it arrived are in its own generation (every worker is a party
 *     of every generation, so that one cannot fill without it), hence its
 *     index is at least that many, unless a reset started a new generation
 *     meanwhile (`resets` is bumped before every reset and `resets_done`
 *     after it: a reset already begun, or begun during the wait, excuses
 *     the index -- a resetter preempted between its bump and its reset
 *     used to make this check fail on a correct barrier);
 *   - a generation whose action succeeded is released: resets, aborts and
 *     timeouts that land while the action runs wait for its release (the
 *     action is atomic with it, as in CPython), so no generation the action
 *     counted is ever voided;
 *   - the last arrival (index parties-1) is the thread that ran the action;
 *   - a timed wait that returns CT_ETIMEDOUT waited at least its timeout;
 *   - n_waiting < parties at every look; after reset at rest the barrier is
 *     not broken and nobody waits;
 *   - no lost wake-up: at each round end every waiter leaves within the
 *     bound after the abort (checked by the driver).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>

#include "torture.h"

#define MAXW 256
#define SLOTS 4

enum { C_PASSED, C_BROKEN, C_TIMEOUTS, C_RESETS, C_ABORTS, C_GENERATIONS, C_ACTION_FAILS };
static const char *const names[] = { "passed", "broken", "timeouts", "resets", "aborts",
                                     "generations", "action_fails", NULL };

struct state;
static int action_run(struct state *s);

struct state {
    ct_barrier_t b;
    int nthreads;
    /* Written by the action only (all parties are inside the barrier). */
    uint64_t gen;                  /* generations completed */
    uint64_t action_ident;         /* who ran the latest action */
    uint64_t rng;
    uint64_t action_fails;
    char action_failure[200];
    /* slot[g % SLOTS][i] = g + 1 once index i was returned in generation g. */
    _Atomic uint64_t slot[SLOTS][MAXW];
    ct_lock_t ctl;                 /* orders resets with the round-end abort */
    atomic_bool stopping;          /* written under ctl */
    atomic_ulong resets;           /* bumped before every ct_barrier_reset */
    atomic_ulong resets_done;      /* bumped after it */
    uint64_t last_gen[MAXW];       /* per worker: generation of its last pass */
};

/* Not under ctl: a reset or abort (under ctl) that lands while the action
 * runs waits for its release, so the action must not wait for ctl. */
static int action(void *p)
{
    return action_run(p);
}

static int action_run(struct state *s)
{
    if (atomic_load(&s->stopping))
        return 1;                   /* the round is over: break it */
    s->action_ident = ct_thread_ident();
    if (s->gen > 0 && !s->action_failure[0]) {
        /* Every party returned from the previous generation and recorded its
         * index before arriving here. */
        uint64_t g = s->gen - 1;
        for (int i = 0; i < s->nthreads; i++) {
            if (atomic_load(&s->slot[g % SLOTS][i]) != g + 1) {
                snprintf(s->action_failure, sizeof s->action_failure,
                         "generation %llu: index %d never returned",
                         (unsigned long long)g, i);
                break;
            }
        }
    }
    s->rng = s->rng * 6364136223846793005u + 1442695040888963407u;
    if ((s->rng >> 33) % 64 == 0) {
        s->action_fails++;
        return 1;                   /* breaks the barrier; no generation */
    }
    s->gen++;
    return 0;
}

static void *setup(int nthreads)
{
    struct state *s = calloc(1, sizeof *s);
    s->nthreads = nthreads;
    s->rng = 12345;
    if (ct_barrier_init(&s->b, (unsigned)nthreads, action, s, CT_FOREVER) != CT_OK) {
        fprintf(stderr, "barrier init failed\n");
        exit(2);
    }
    return s;
}

static void teardown(void *p) { free(p); }

static void step(void *p, struct torture_worker *w)
{
    struct state *s = p;
    uint32_t r = torture_below(w, 100);
    int64_t timeout = CT_FOREVER;
    int rc;

    torture_delay(w);
    if (r < 8)
        timeout = CT_MS(2) + torture_below(w, 20000000);     /* 2-22 ms: may break it */
    else if (r < 10)
        timeout = CT_MS(100);
    unsigned long resets0 = atomic_load(&s->resets);
    bool reset_running = atomic_load(&s->resets_done) != resets0;   /* begun, not done */
    unsigned before = ct_barrier_n_waiting(&s->b);
    torture_begin(w, "barrier_wait");
    int64_t t0 = torture_now();
    rc = timeout == CT_FOREVER && torture_below(w, 2) ? ct_barrier_wait(&s->b)
                                                      : ct_barrier_wait_timed(&s->b, timeout);
    int64_t took = torture_now() - t0;
    torture_end(w);
    if (ct_barrier_n_waiting(&s->b) >= (unsigned)w->nthreads)
        torture_fail(w, "n_waiting %u with %d parties", ct_barrier_n_waiting(&s->b),
                     w->nthreads);
    if (rc >= 0) {
        uint64_t g = s->gen;        /* written by the action before the release */
        if (rc >= w->nthreads) {
            torture_fail(w, "index %d with %d parties", rc, w->nthreads);
            return;
        }
        if ((unsigned)rc < before && !reset_running && atomic_load(&s->resets) == resets0)
            torture_fail(w, "index %d although %u parties had arrived before it", rc, before);
        if (g != s->last_gen[w->id] + 1)
            torture_fail(w, "passed generation %llu after %llu (not in lockstep, or a "
                         "generation the action counted was voided)",
                         (unsigned long long)g, (unsigned long long)s->last_gen[w->id]);
        s->last_gen[w->id] = g;
        uint64_t prev = atomic_exchange(&s->slot[(g - 1) % SLOTS][rc], g);
        if (prev == g)
            torture_fail(w, "index %d returned twice in generation %llu", rc,
                         (unsigned long long)g - 1);
        if (rc == w->nthreads - 1 && s->action_ident != ct_thread_ident())
            torture_fail(w, "the last arrival did not run the action");
        w->counts[C_PASSED]++;
        if (rc == 0)
            w->counts[C_GENERATIONS]++;
        return;
    }
    if (rc == CT_ETIMEDOUT) {
        w->counts[C_TIMEOUTS]++;
        torture_check_not_early(w, "ct_barrier_wait_timed", timeout, took);
    } else if (rc == CT_EBROKEN) {
        w->counts[C_BROKEN]++;
    } else {
        torture_fail(w, "barrier_wait returned %s", ct_strerror(rc));
        return;
    }
    /* Broken: mend it, break it again, or leave it to another worker. */
    r = torture_below(w, 4);
    if (r < 2) {
        ct_lock_acquire(&s->ctl);
        if (!atomic_load(&s->stopping)) {
            if (r == 0) {
                atomic_fetch_add(&s->resets, 1);
                ct_barrier_reset(&s->b);
                atomic_fetch_add(&s->resets_done, 1);
                w->counts[C_RESETS]++;
            } else {
                ct_barrier_abort(&s->b);
                w->counts[C_ABORTS]++;
            }
        }
        ct_lock_release(&s->ctl);
    }
}

static void stop(void *p)
{
    struct state *s = p;
    ct_lock_acquire(&s->ctl);
    atomic_store(&s->stopping, true);
    ct_barrier_abort(&s->b);
    ct_lock_release(&s->ctl);
}

static void quiesce(void *p, struct torture_worker *ws, int nthreads)
{
    struct state *s = p;
    (void)nthreads;
    if (s->action_failure[0]) {
        torture_fail(&ws[0], "%s", s->action_failure);
        s->action_failure[0] = 0;
    }
    ws[0].counts[C_ACTION_FAILS] += s->action_fails;
    s->action_fails = 0;
    if (!ct_barrier_broken(&s->b))
        torture_fail(&ws[0], "barrier not broken after the round-end abort");
    atomic_fetch_add(&s->resets, 1);
    ct_barrier_reset(&s->b);
    atomic_fetch_add(&s->resets_done, 1);
    if (ct_barrier_broken(&s->b) || ct_barrier_n_waiting(&s->b) != 0)
        torture_fail(&ws[0], "after reset at rest: broken=%d n_waiting=%u",
                     ct_barrier_broken(&s->b), ct_barrier_n_waiting(&s->b));
    atomic_store(&s->stopping, false);
}

const struct torture_prim torture_barrier = {
    .name = "barrier",
    .invariants = "generations in lockstep, indexes a permutation in arrival order, the last "
                  "arrival runs the "
                  "action, timed never early, reset/abort, no lost wake-up",
    .count_names = names,
    .setup = setup,
    .step = step,
    .quiesce = quiesce,
    .stop = stop,
    .teardown = teardown,
};
