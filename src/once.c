/* One-time initialisation.
 *
 * The state word and its protocol are described in internal/once.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>

#include "cthreading/once.h"
#include "internal/atomic.h"
#include "internal/once.h"
#include "internal/platform.h"
#include "wait/wait.h"

enum { IDLE = CT__ONCE_IDLE, RUNNING = CT__ONCE_RUNNING, WAITED = CT__ONCE_WAITED,
       DONE = CT__ONCE_DONE };

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
