/* One-time initialisation.
 *
 * State word (ct_once_t.state):
 *   IDLE    0  fn has not run, or its last run failed
 *   RUNNING 1  one caller runs fn, nobody waits
 *   WAITED  2  one caller runs fn, others sleep on the word
 *   DONE    3  fn returned 0; final
 * The runner leaves RUNNING/WAITED with an exchange (release), so it knows
 * whether anyone sleeps: no wake-up syscall when nobody waits.  A sleeper
 * sets WAITED before it sleeps on that value, so the runner's exchange either
 * sees WAITED (and wakes) or happens before the sleeper's CAS (which then
 * fails and the sleeper re-reads): no lost wake-up.  DONE is published with
 * release and read with acquire, so what fn wrote is visible to every caller
 * that sees DONE.
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>

#include "cthreading/once.h"
#include "internal/atomic.h"
#include "internal/platform.h"
#include "wait/wait.h"

enum { IDLE = 0, RUNNING = 1, WAITED = 2, DONE = 3 };

static CT__NOINLINE int once_slow(_Atomic uint32_t *w, int (*fn)(void *), void *arg)
{
    for (;;) {
        uint32_t s = atomic_load_explicit(w, memory_order_acquire);
        if (s == DONE)
            return CT_OK;
        if (s == IDLE) {
            if (!atomic_compare_exchange_weak_explicit(w, &s, RUNNING, memory_order_acquire,
                                                       memory_order_relaxed))
                continue;
            int rc = fn(arg);
            uint32_t old = atomic_exchange_explicit(w, rc == 0 ? DONE : IDLE,
                                                    memory_order_release);
            /* On failure every sleeper wakes and re-reads: one of them wins
             * the IDLE → RUNNING race and retries, the rest sleep again. */
            if (old == WAITED)
                ct_wake_all((const uint32_t *)w);
            return rc;
        }
        if (s == RUNNING &&
            !atomic_compare_exchange_weak_explicit(w, &s, WAITED, memory_order_relaxed,
                                                   memory_order_relaxed))
            continue;
        (void)ct__wait_until((const uint32_t *)w, WAITED, CT__NO_DEADLINE);
    }
}

int ct_once(ct_once_t *o, int (*fn)(void *), void *arg)
{
    _Atomic uint32_t *w;

    assert(o != NULL && fn != NULL);
    w = CT__A32(&o->state);
    if (CT__LIKELY(atomic_load_explicit(w, memory_order_acquire) == DONE))
        return CT_OK;
    return once_slow(w, fn, arg);
}
