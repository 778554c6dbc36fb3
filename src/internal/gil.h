/* The real layout of a GIL, behind the opaque ct_gil_t.
 *
 * For src/gil.c and the white-box tests.  The encoding of `state` (bits
 * below), of `drop_request` and of the waiter nodes, what guards which
 * field and why each memory order suffices: the top of src/gil.c.
 *
 * State word bits:
 *   bit 0  CT__GIL_LOCKED  some thread holds the GIL
 *   bit 1  CT__GIL_QUEUED  the waiter queue is non-empty (changed only
 *                          under queue_lock)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_GIL_H
#define CT_INTERNAL_GIL_H

#include <stdint.h>

#include "cthreading/gil.h"
#include "cthreading/lock.h"

#define CT__GIL_LOCKED UINT32_C(1)
#define CT__GIL_QUEUED UINT32_C(2)

struct ct__gil {
    uint32_t state;              /* CT__GIL_LOCKED / CT__GIL_QUEUED */
    uint32_t drop_request;       /* the eval-breaker word ct_gil_poll loads */
    ct_lock_t queue_lock;        /* guards the waiter queue */
    uint32_t mode;               /* CT_GIL_CLASSIC or CT_GIL_PRIORITY */
    uint64_t holder;             /* ct_thread_ident of the holder, 0 if free */
    uint64_t last_holder;        /* ident of the latest holder */
    uint64_t takes;              /* CPython's switch_number: every take counts */
    int64_t interval_ns;         /* switch interval */
    void *queue_head;            /* waiters, oldest first (queue_lock) */
    void *queue_tail;
    void *thread_states;         /* per-thread states of this GIL (registry lock) */
    struct ct__gil *registry_prev, *registry_next;
    uint64_t stat_switches, stat_forced_drops, stat_drop_requests;
    uint64_t stat_wait_total_ns, stat_wait_max_ns, stat_thread_states;
};

_Static_assert(sizeof(struct ct__gil) <= sizeof(ct_gil_t),
               "ct_gil_t's opaque storage must hold the GIL");
_Static_assert(_Alignof(struct ct__gil) <= _Alignof(ct_gil_t),
               "ct_gil_t's opaque storage must be aligned for the GIL");

/* The GIL behind a public ct_gil_t (NULL stays NULL). */
static inline struct ct__gil *ct__gil_of(const ct_gil_t *g)
{
    return (struct ct__gil *)(void *)(uintptr_t)g;
}

#endif /* CT_INTERNAL_GIL_H */
