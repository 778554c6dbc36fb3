/* Torture: the GIL.
 *
 * Two GILs, one per mode (CT_GIL_CLASSIC, CT_GIL_PRIORITY), with a short
 * switch interval so that drop requests and forced switches are frequent.
 * A step takes one of them (ct_gil_acquire or ct_gil_ensure), runs a few
 * "bytecodes" — each bumps a counter and then polls the eval breaker,
 * yields, runs a CT_BEGIN/END_ALLOW_THREADS block, nests an ensure, tries a
 * recursive acquire, or just spins — and releases it the way it took it.
 * Everything that may hand the GIL over (poll, yield, ALLOW_THREADS) is
 * bracketed by leaving and re-entering the owner word.
 *
 * Invariants:
 *   - mutual exclusion: the owner word is exchanged on every entry and exit,
 *     and a plain counter bumped under the GIL equals the number of bumps
 *     whenever the workers are at rest;
 *   - ct_gil_held is true inside (also right after a poll or yield that
 *     switched) and false outside and inside an ALLOW_THREADS block;
 *   - return codes: poll and yield 0/1, ensure UNLOCKED when not held and
 *     LOCKED when held, acquire while held CT_EDEADLK, release / yield /
 *     release_state by a non-holder CT_EPERM, a bad state CT_EINVAL, bad
 *     switch intervals CT_EINVAL;
 *   - no lost wake-up: every blocked acquirer gets the GIL within the bound
 *     once the others stop (checked by the driver at each round end).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>

#include "torture.h"

#define NGIL 2
#define INTERVAL CT_US(200)

enum { C_ACQUIRES, C_ENSURES, C_BUMPS, C_POLL_SWITCHES, C_YIELD_SWITCHES, C_ALLOW_THREADS,
       C_NESTED, C_EPERM };
static const char *const names[] = { "acquires", "ensures", "bumps", "poll_switches",
                                     "yield_switches", "allow_threads", "nested_ensures",
                                     "eperm", NULL };

struct g {
    ct_gil_t gil;
    atomic_int owner;              /* worker id + 1 while it holds the GIL */
    long counter;                  /* plain: only written under the GIL */
    char pad[64];
};

struct state { struct g g[NGIL]; };

static void *setup(int nthreads)
{
    struct state *s = calloc(1, sizeof *s);
    (void)nthreads;
    for (int k = 0; k < NGIL; k++) {
        if (ct_gil_init(&s->g[k].gil, k == 0 ? CT_GIL_CLASSIC : CT_GIL_PRIORITY) != CT_OK ||
            ct_gil_set_switch_interval(&s->g[k].gil, INTERVAL) != CT_OK) {
            fprintf(stderr, "gil init failed\n");
            exit(2);
        }
    }
    return s;
}

static void teardown(void *p)
{
    struct state *s = p;
    for (int k = 0; k < NGIL; k++)
        ct_gil_destroy(&s->g[k].gil);
    free(s);
}

static void enter(struct g *x, struct torture_worker *w, const char *after)
{
    int prev = atomic_exchange(&x->owner, w->id + 1);
    if (prev != 0)
        torture_fail(w, "holds the GIL after %s while worker %d is inside", after, prev - 1);
    if (!ct_gil_held(&x->gil))
        torture_fail(w, "ct_gil_held false after %s", after);
}

static void leave(struct g *x, struct torture_worker *w, const char *before)
{
    int prev = atomic_exchange(&x->owner, 0);
    if (prev != w->id + 1)
        torture_fail(w, "owner word %d before %s (mutual exclusion broken)", prev, before);
}

static void bytecode(struct g *x, struct torture_worker *w)
{
    ct_gil_t *g = &x->gil;
    int rc;

    x->counter++;
    w->counts[C_BUMPS]++;
    switch (torture_below(w, 10)) {
    case 0: case 1: case 2:
        leave(x, w, "poll");
        torture_begin(w, "gil_poll");
        rc = ct_gil_poll(g);
        torture_end(w);
        if (rc != 0 && rc != 1)
            torture_fail(w, "poll by the holder returned %d", rc);
        w->counts[C_POLL_SWITCHES] += rc == 1;
        enter(x, w, "poll");
        break;
    case 3:
        leave(x, w, "yield");
        torture_begin(w, "gil_yield");
        rc = ct_gil_yield(g);
        torture_end(w);
        if (rc != 0 && rc != 1)
            torture_fail(w, "yield by the holder returned %d", rc);
        w->counts[C_YIELD_SWITCHES] += rc == 1;
        enter(x, w, "yield");
        break;
    case 4:
        leave(x, w, "ALLOW_THREADS");
        torture_begin(w, "ALLOW_THREADS");
        CT_BEGIN_ALLOW_THREADS(g)
        if (ct_gil_held(g))
            torture_fail(w, "ct_gil_held true inside ALLOW_THREADS");
        torture_delay(w);
        CT_END_ALLOW_THREADS(g)
        torture_end(w);
        w->counts[C_ALLOW_THREADS]++;
        enter(x, w, "END_ALLOW_THREADS");
        break;
    case 5: {
        ct_gil_state_t st = ct_gil_ensure(g);
        if (st != CT_GIL_STATE_LOCKED)
            torture_fail(w, "nested ensure returned %d", (int)st);
        if ((rc = ct_gil_release_state(g, st)) != CT_OK || !ct_gil_held(g))
            torture_fail(w, "release_state of a nested ensure: %s", ct_strerror(rc));
        w->counts[C_NESTED]++;
        break;
    }
    case 6:
        if ((rc = ct_gil_acquire(g)) != CT_EDEADLK)
            torture_fail(w, "acquire by the holder returned %s", ct_strerror(rc));
        break;
    default:
        torture_delay(w);
        break;
    }
}

static void not_holder(struct g *x, struct torture_worker *w)
{
    ct_gil_t *g = &x->gil;
    int a = ct_gil_release(g), b = ct_gil_yield(g),
        c = ct_gil_release_state(g, CT_GIL_STATE_UNLOCKED),
        d = ct_gil_release_state(g, (ct_gil_state_t)7), e = ct_gil_poll(g),
        f = ct_gil_set_switch_interval(g, torture_below(w, 2) ? 0 : -5);
    if (a != CT_EPERM || b != CT_EPERM || c != CT_EPERM || (d != CT_EINVAL && d != CT_EPERM) ||
        (e != 0 && e != CT_EPERM) || f != CT_EINVAL || ct_gil_held(g))
        torture_fail(w, "non-holder: release %s yield %s release_state %s bad state %s "
                     "poll %d bad interval %s", ct_strerror(a), ct_strerror(b), ct_strerror(c),
                     ct_strerror(d), e, ct_strerror(f));
    w->counts[C_EPERM]++;
}

static void step(void *p, struct torture_worker *w)
{
    struct state *s = p;
    struct g *x = &s->g[torture_below(w, NGIL)];
    ct_gil_t *g = &x->gil;
    bool ensure = torture_below(w, 2);
    ct_gil_state_t st = CT_GIL_STATE_LOCKED;
    int rc;

    torture_delay(w);
    if (torture_below(w, 20) == 0) {
        not_holder(x, w);
        return;
    }
    torture_begin(w, ensure ? "gil_ensure" : "gil_acquire");
    if (ensure) {
        st = ct_gil_ensure(g);
        if (st != CT_GIL_STATE_UNLOCKED)
            torture_fail(w, "ensure by a non-holder returned %d", (int)st);
        w->counts[C_ENSURES]++;
    } else {
        if ((rc = ct_gil_acquire(g)) != CT_OK)
            torture_fail(w, "gil_acquire returned %s", ct_strerror(rc));
        w->counts[C_ACQUIRES]++;
    }
    torture_end(w);
    enter(x, w, ensure ? "ensure" : "acquire");
    for (uint32_t n = 1 + torture_below(w, 8); n > 0; n--)
        bytecode(x, w);
    leave(x, w, "release");
    torture_begin(w, "gil_release");
    rc = ensure ? ct_gil_release_state(g, st) : ct_gil_release(g);
    torture_end(w);
    if (rc != CT_OK)
        torture_fail(w, "release returned %s", ct_strerror(rc));
    if (ct_gil_held(g))
        torture_fail(w, "still holds the GIL after releasing it");
}

static void quiesce(void *p, struct torture_worker *ws, int nthreads)
{
    struct state *s = p;
    for (int k = 0; k < NGIL; k++) {
        struct g *x = &s->g[k];
        if (atomic_load(&x->owner) != 0)
            torture_fail(&ws[0], "GIL %d: owner word %d at rest", k, atomic_load(&x->owner));
        if (ct_gil_acquire(&x->gil) != CT_OK || ct_gil_release(&x->gil) != CT_OK)
            torture_fail(&ws[0], "GIL %d: not free at rest", k);
    }
    uint64_t bumps = 0;
    for (int i = 0; i < nthreads; i++)
        bumps += ws[i].counts[C_BUMPS];
    if ((uint64_t)(s->g[0].counter + s->g[1].counter) != bumps)
        torture_fail(&ws[0], "counters %ld + %ld != %llu bumps (mutual exclusion broken)",
                     s->g[0].counter, s->g[1].counter, (unsigned long long)bumps);
}

const struct torture_prim torture_gil = {
    .name = "gil",
    .invariants = "mutual exclusion under poll/yield/ensure/ALLOW_THREADS (both modes), held "
                  "exact, EDEADLK/EPERM/EINVAL, no lost wake-up",
    .count_names = names,
    .setup = setup,
    .step = step,
    .quiesce = quiesce,
    .teardown = teardown,
};
