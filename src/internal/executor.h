/* The real layout of an Executor and a Future, behind the opaque
 * ct_executor_t and ct_future_t.
 *
 * For src/executor.c and the white-box tests.  What guards which field, the
 * future word's transitions and the shutdown protocol: the top of
 * src/executor.c.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_EXECUTOR_H
#define CT_INTERNAL_EXECUTOR_H

#include <stdint.h>

#include "cthreading/executor.h"
#include "cthreading/lock.h"

/* The future word (struct ct__future.state): bits 0-3 the state
 * (CT__FUTURE_STATE_MASK), bit 4 CT__FUTURE_WAITERS (a thread may sleep on
 * the word), bit 5 CT__FUTURE_CALLBACKS (a done callback was added while
 * PENDING or RUNNING: the worker completes under the future's lock).
 * test/model/future.pml checks the completion against added callbacks and
 * waiters; test/model/tie.sh ties these values to it. */
#define CT__FUTURE_IDLE       UINT32_C(0)   /* never submitted */
#define CT__FUTURE_PENDING    UINT32_C(1)   /* submitted, not started */
#define CT__FUTURE_RUNNING    UINT32_C(2)   /* a worker runs it */
#define CT__FUTURE_COMPLETING UINT32_C(3)   /* result set; callbacks running */
#define CT__FUTURE_FINISHED   UINT32_C(4)   /* final: ran to completion */
#define CT__FUTURE_CANCELLED  UINT32_C(5)   /* final: cancelled */
#define CT__FUTURE_CLOSING    UINT32_C(6)   /* callbacks closed, final state next */
#define CT__FUTURE_STATE_MASK UINT32_C(0xf)
#define CT__FUTURE_WAITERS    UINT32_C(0x10)
#define CT__FUTURE_CALLBACKS  UINT32_C(0x20)   /* a done callback came before completion */

/* struct ct__executor.initialised: set by init, cleared by destroy ("EXEC"). */
#define CT__EXECUTOR_MAGIC UINT32_C(0x45584543)

struct ct__executor;
struct ct__executor_worker;
struct ct__executor_idle;

struct ct__future {
    uint32_t state;                /* the future word; waited on */
    ct_lock_t lock;                /* guards the callbacks and completion */
    uint32_t ncallbacks;
    uint32_t cancelled;            /* the outcome once completing: 1 = cancelled */
    void *(*fn)(void *);
    void *arg;
    void *result;
    struct ct__executor *ex;
    struct ct__future *next, *prev; /* the executor's pending list */
    uint64_t completer;            /* ident of the thread completing it */
    struct {
        void (*cb)(ct_future_t *, void *);
        void *arg;
    } callbacks[CT_FUTURE_MAX_CALLBACKS];
};

struct ct__executor {
    ct_lock_t lock;                /* guards everything below */
    uint32_t initialised;          /* a magic value once ct_executor_init ran */
    uint32_t shutdown;
    uint32_t nworkers;             /* worker threads alive (incl. retiring ones) */
    uint32_t npending;
    ct_executor_options_t opts;
    struct ct__executor_idle *idle; /* idle workers, the latest first */
    struct ct__future *pending_head, *pending_tail;
    struct ct__executor_worker *workers;  /* opts.max_workers slots */
    ct_lock_t join_lock;           /* serialises the joins of shutdown(wait) */
    uint32_t serial;               /* n of the default prefix */
};

_Static_assert(sizeof(struct ct__future) <= sizeof(ct_future_t),
               "ct_future_t's opaque storage must hold the future");
_Static_assert(_Alignof(struct ct__future) <= _Alignof(ct_future_t),
               "ct_future_t's opaque storage must be aligned for the future");
_Static_assert(sizeof(struct ct__executor) <= sizeof(ct_executor_t),
               "ct_executor_t's opaque storage must hold the executor");
_Static_assert(_Alignof(struct ct__executor) <= _Alignof(ct_executor_t),
               "ct_executor_t's opaque storage must be aligned for the executor");

/* The object behind a public handle (NULL stays NULL), and back. */
static inline struct ct__future *ct__future_of(const ct_future_t *f)
{
    return (struct ct__future *)(void *)(uintptr_t)f;
}

static inline ct_future_t *ct__future_handle(struct ct__future *f)
{
    return (ct_future_t *)(void *)f;
}

static inline struct ct__executor *ct__executor_of(const ct_executor_t *ex)
{
    return (struct ct__executor *)(void *)(uintptr_t)ex;
}

#endif /* CT_INTERNAL_EXECUTOR_H */
