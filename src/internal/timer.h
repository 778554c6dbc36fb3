/* The real layout of a Timer node, behind the opaque ct_timer_t.
 *
 * For src/timer.c and the white-box tests.  All fields but `state` are
 * guarded by the timer service's lock; `state` is written under that lock
 * and read without it by ct_timer_is_alive and by joiners sleeping on it.
 *
 * State word (the transitions and why no join misses its wake-up: the top
 * of src/timer.c):
 *   bits 0-3   phase (CT__TIMER_PHASE_MASK): IDLE 0, PENDING 1, QUEUED 2,
 *              RAN 3, CANCELLED 4
 *   bits 8-15  RUNNING: workers inside fn for this node (+CT__TIMER_RUNNING_ONE)
 *   bit 31     WAITERS: a ct_timer_join sleeps on the word
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_TIMER_H
#define CT_INTERNAL_TIMER_H

#include <stdint.h>

#include "cthreading/timer.h"

#define CT__TIMER_IDLE         UINT32_C(0)
#define CT__TIMER_PENDING      UINT32_C(1)
#define CT__TIMER_QUEUED       UINT32_C(2)
#define CT__TIMER_RAN          UINT32_C(3)
#define CT__TIMER_CANCELLED    UINT32_C(4)
#define CT__TIMER_PHASE_MASK   UINT32_C(0x0000000f)
#define CT__TIMER_RUNNING_ONE  UINT32_C(0x00000100)
#define CT__TIMER_RUNNING_MASK UINT32_C(0x0000ff00)
#define CT__TIMER_WAITERS      UINT32_C(0x80000000)

struct ct__timer {
    int64_t deadline;            /* absolute monotonic ns while pending */
    uint64_t seq;                /* start order: FIFO among equal deadlines */
    void (*fn)(void *);
    void *arg;
    struct ct__timer *next;      /* ready-queue link while waiting for a worker */
    uint32_t heap_index;         /* position in the service heap while pending */
    uint32_t state;              /* phase, RUNNING count, WAITERS */
};

_Static_assert(sizeof(struct ct__timer) <= sizeof(ct_timer_t),
               "ct_timer_t's opaque storage must hold the node");
_Static_assert(_Alignof(struct ct__timer) <= _Alignof(ct_timer_t),
               "ct_timer_t's opaque storage must be aligned for the node");

/* The node behind a public ct_timer_t (NULL stays NULL). */
static inline struct ct__timer *ct__timer_of(const ct_timer_t *t)
{
    return (struct ct__timer *)(void *)(uintptr_t)t;
}

#endif /* CT_INTERNAL_TIMER_H */
