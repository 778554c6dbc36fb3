/* Torture: Event.
 *
 * One event; workers wait on it (timeout 0, short, long or CT_FOREVER), set
 * it, pulse it (set immediately followed by clear: CPython issue #13502) or
 * clear it.  Sets and clears are serialised by a control lock that also
 * records, for the latest RING sets, when the set call started and returned,
 * and whether the latest operation was a set (`flag`, raised before a set
 * starts and lowered after a clear returns).
 *
 * Invariants:
 *   - every waiter present at a set returns CT_OK: a waiter that started its
 *     call at t0 with timeout T and timed out at t1 loaded the flag at or
 *     before t1 - T (the deadline is taken after the first load) and decided
 *     at or after t0 + T; a set that started after t1 - T and returned
 *     before t0 + T found it waiting, so CT_ETIMEDOUT is a lost wake-up, even
 *     if a clear followed at once;
 *   - a set that stays set is seen: CT_ETIMEDOUT while the latest operation
 *     is a set that returned before t0 + T is a lost wake-up;
 *   - no spurious CT_OK: an event clear when the wait started, with no set
 *     started until the wait returned, cannot return CT_OK;
 *   - timed waits that time out waited at least their timeout (signals);
 *   - no lost wake-up at the round end: the driver sets the event (and keeps
 *     it set until the workers are at rest), so every waiter, CT_FOREVER ones
 *     included, must check in within the bound;
 *   - bad timeouts are rejected.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

#include "torture.h"

#define RING 64

enum { C_WAITS, C_OK, C_TIMEOUTS, C_SETS, C_PULSES, C_CLEARS, C_CHECKED, C_BAD_ARGS };
static const char *const names[] = { "waits", "ok", "timeouts", "sets", "pulses", "clears",
                                     "checked_timeouts", "bad_args", NULL };

struct state {
    ct_event_t ev;
    ct_lock_t ctl;                 /* serialises set/clear and the records */
    atomic_int flag;               /* 1 from before a set until after a clear */
    atomic_ulong sets_begun;
    int64_t set_start[RING], set_end[RING];    /* under ctl */
    unsigned long nsets;                       /* under ctl */
    int64_t last_set_end;                      /* under ctl */
    bool stopped;                              /* under ctl: no clears */
};

static void *setup(int nthreads)
{
    (void)nthreads;
    return calloc(1, sizeof(struct state));
}

static void teardown(void *p) { free(p); }

/* With ctl held. */
static void do_set(struct state *s)
{
    int64_t start = torture_now();
    atomic_store(&s->flag, 1);
    atomic_fetch_add(&s->sets_begun, 1);
    ct_event_set(&s->ev);
    int64_t end = torture_now();
    s->set_start[s->nsets % RING] = start;
    s->set_end[s->nsets % RING] = end;
    s->nsets++;
    s->last_set_end = end;
}

static void do_clear(struct state *s)
{
    ct_event_clear(&s->ev);
    atomic_store(&s->flag, 0);
}

static void waiter(struct state *s, struct torture_worker *w)
{
    uint32_t r = torture_below(w, 20);
    int64_t timeout = r == 0 ? 0 : r < 4 ? CT_FOREVER : r < 16 ? 1 + torture_below(w, 3000000)
                                                              : CT_MS(20) + torture_below(w, 30000000);
    unsigned long s0 = atomic_load(&s->sets_begun);
    int f = atomic_load(&s->flag);
    int rc;

    torture_begin(w, timeout == CT_FOREVER ? "event_wait(forever)" : "event_wait_timed");
    int64_t t0 = torture_now();
    if (timeout == CT_FOREVER && torture_below(w, 2)) {
        ct_event_wait(&s->ev);
        rc = CT_OK;
    } else {
        rc = ct_event_wait_timed(&s->ev, timeout);
    }
    int64_t t1 = torture_now();
    torture_end(w);
    w->counts[C_WAITS]++;
    if (rc == CT_OK) {
        w->counts[C_OK]++;
        if (f == 0 && atomic_load(&s->sets_begun) == s0)
            torture_fail(w, "CT_OK although the event was clear and nobody set it");
        return;
    }
    if (rc != CT_ETIMEDOUT || timeout == CT_FOREVER) {
        torture_fail(w, "event_wait_timed(%lld) returned %s", (long long)timeout,
                     ct_strerror(rc));
        return;
    }
    w->counts[C_TIMEOUTS]++;
    torture_check_not_early(w, "ct_event_wait_timed", timeout, t1 - t0);
    if (timeout == 0)
        return;
    ct_lock_acquire(&s->ctl);
    if (atomic_load(&s->flag) && s->last_set_end < t0 + timeout)
        torture_fail(w, "timed out although the event was set %.3f ms before its deadline "
                     "and stayed set", (double)(t0 + timeout - s->last_set_end) / 1e6);
    unsigned long n = s->nsets < RING ? s->nsets : RING;
    for (unsigned long k = 0; k < n; k++) {
        unsigned long i = (s->nsets - 1 - k) % RING;
        if (s->set_start[i] > t1 - timeout && s->set_end[i] < t0 + timeout) {
            torture_fail(w, "lost wake-up: a set ran entirely while it waited (%.3f ms after "
                         "it was in, %.3f ms before its deadline)",
                         (double)(s->set_start[i] - (t1 - timeout)) / 1e6,
                         (double)(t0 + timeout - s->set_end[i]) / 1e6);
            break;
        }
    }
    ct_lock_release(&s->ctl);
    w->counts[C_CHECKED]++;
}

static void step(void *p, struct torture_worker *w)
{
    struct state *s = p;
    uint32_t r = torture_below(w, 100);

    torture_delay(w);
    if (r < 65) {
        waiter(s, w);
        return;
    }
    if (r < 95) {
        torture_begin(w, "event set/clear");
        ct_lock_acquire(&s->ctl);
        if (r < 73) {
            do_set(s);
            w->counts[C_SETS]++;
        } else if (r < 85) {
            do_set(s);
            if (!s->stopped)
                do_clear(s);
            w->counts[C_PULSES]++;
        } else if (!s->stopped) {
            do_clear(s);
            w->counts[C_CLEARS]++;
        }
        if (s->stopped && !ct_event_is_set(&s->ev))
            torture_fail(w, "event clear after the round-end set");
        ct_lock_release(&s->ctl);
        torture_end(w);
        return;
    }
    int want;
    int64_t t = torture_bad_timeout(w, &want);
    int rc = ct_event_wait_timed(&s->ev, t);
    if (rc != want)
        torture_fail(w, "event_wait_timed(%lld) returned %s", (long long)t, ct_strerror(rc));
    w->counts[C_BAD_ARGS]++;
}

static void stop(void *p)
{
    struct state *s = p;
    ct_lock_acquire(&s->ctl);
    s->stopped = true;
    do_set(s);
    ct_lock_release(&s->ctl);
}

static void quiesce(void *p, struct torture_worker *ws, int nthreads)
{
    struct state *s = p;
    (void)nthreads;
    if (!ct_event_is_set(&s->ev))
        torture_fail(&ws[0], "event clear at rest after the round-end set");
    if (ct_event_wait_timed(&s->ev, 0) != CT_OK)
        torture_fail(&ws[0], "poll of a set event did not return CT_OK");
    do_clear(s);
    if (ct_event_is_set(&s->ev) || ct_event_wait_timed(&s->ev, 0) != CT_ETIMEDOUT)
        torture_fail(&ws[0], "event still set after clear");
    s->stopped = false;
}

const struct torture_prim torture_event = {
    .name = "event",
    .invariants = "every waiter present at a set (even one cleared at once) returns OK, no "
                  "spurious OK, timed never early, no lost wake-up, bad timeouts rejected",
    .count_names = names,
    .setup = setup,
    .step = step,
    .quiesce = quiesce,
    .stop = stop,
    .teardown = teardown,
};
