/* Torture suite: one driver (torture.c), one file per primitive under test.
 *
 * In the spirit of the Linux kernel's locktorture: every primitive runs under
 * N worker threads (oversubscribed: 16+ on 2 cores) for S seconds, with
 * random short delays inside and outside critical sections and, on POSIX, a
 * signal storm (SIGUSR1 to every worker every ~100 us, no SA_RESTART, so every
 * timed wait is interrupted many times).  Invariants are checked while it
 * runs; any violation is a failure and the run exits non-zero.
 *
 * The run is cut into short rounds.  At the end of each round every worker
 * finishes its current step and checks in; a worker that does not check in
 * within the hang bound is stuck (a lost wake-up: once the others stopped,
 * whatever it waits for has been released/notified/set), which fails the run
 * at once with the step it is stuck in.  Primitives whose waiters only
 * another worker can release (a condition, an event, a barrier) get a `stop`
 * call at the round end that releases them all.  While all workers are
 * checked in, the driver calls the primitive's `quiesce` to check its state
 * at rest.
 *
 * Adding a primitive: write test/stress/torture_<name>.c defining
 * `const struct torture_prim torture_<name>` and add one line
 * TORTURE_PRIM(<name>) to torture_prims.h.  CMake picks the file up.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_TORTURE_H
#define CT_TORTURE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <cthreading.h>

#define TORTURE_MAX_COUNTS 12

struct torture_worker {
    int id;                        /* 0 .. threads-1 */
    int nthreads;
    uint64_t rng;                  /* private xorshift state */
    uint64_t counts[TORTURE_MAX_COUNTS];   /* per-primitive op counters */
    const char *_Atomic step;      /* name of the step in progress (hang reports) */
    _Atomic int64_t step_since;    /* when it started (ns), 0 between steps */
    struct torture_run *run;
};

struct torture_prim {
    const char *name;
    /* What is checked, one line, printed by --list. */
    const char *invariants;
    /* Names of counts[0..] (NULL-terminated); printed after the run. */
    const char *const *count_names;
    /* Allocates the shared state for nthreads workers. */
    void *(*setup)(int nthreads);
    /* One operation.  Must return in bounded time once the other workers
     * stop stepping (leave nothing held or pending for others at return). */
    void (*step)(void *state, struct torture_worker *w);
    /* Called by the driver while every worker is checked in: check the state
     * at rest (e.g. lock free, counter == acquisitions).  May be NULL. */
    void (*quiesce)(void *state, struct torture_worker *workers, int nthreads);
    /* Called by the driver (its own thread) right after it asked the
     * workers to finish their step: releases whatever they may be waiting
     * for that only another worker's next step would release (notify_all,
     * set, abort), and keeps it released until `quiesce` (which must then
     * restore the normal state).  The workers must then check in within the
     * hang bound: a worker still blocked missed that release (lost wake-up).
     * May be NULL. */
    void (*stop)(void *state);
    void (*teardown)(void *state);
    /* True if the signal storm must skip this primitive under TSan: the TSan
     * runtime of clang 14 deadlocks when a signal lands while glibc frees a
     * joined thread's TLS (handler -> SlotLock vs. the stack-cache lock). */
    bool no_signals_under_tsan;
};

/* ---- helpers for primitive files ---------------------------------------------- */

static inline uint64_t torture_rand(struct torture_worker *w)
{
    uint64_t x = w->rng;            /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return x * UINT64_C(2685821657736338717);
}

/* Uniform in [0, n). */
static inline uint32_t torture_below(struct torture_worker *w, uint32_t n)
{
    return (uint32_t)((torture_rand(w) >> 32) * n >> 32);
}

static inline int64_t torture_now(void) { return ct_now_ns(); }

/* Marks the step in progress (for the hang report) / its end. */
static inline void torture_begin(struct torture_worker *w, const char *step)
{
    atomic_store_explicit(&w->step, step, memory_order_relaxed);
    atomic_store_explicit(&w->step_since, torture_now(), memory_order_relaxed);
}
static inline void torture_end(struct torture_worker *w)
{
    atomic_store_explicit(&w->step_since, 0, memory_order_relaxed);
}

/* A random short delay: mostly nothing or a few spins, sometimes a yield or
 * a sleep of a few microseconds.  Used inside and outside critical sections. */
void torture_delay(struct torture_worker *w);

/* Records an invariant violation (printed with the worker and primitive). */
void torture_fail(struct torture_worker *w, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Checks that a timed call that returned CT_ETIMEDOUT waited at least the
 * timeout it was given. */
void torture_check_not_early(struct torture_worker *w, const char *what,
                             int64_t timeout_ns, int64_t took_ns);

/* Picks one of the invalid timeouts at random and stores in *want the code
 * every timed call must return for it (CT_EINVAL or CT_EOVERFLOW). */
int64_t torture_bad_timeout(struct torture_worker *w, int *want);

/* Classifies the result rc of a timed acquire that was given timeout_ns and
 * took took_ns: true for CT_OK; for CT_ETIMEDOUT after a finite timeout,
 * counts it in *timeouts and checks the wait was not short; anything else is
 * a failure.  what names the call in reports. */
bool torture_timed_acquired(struct torture_worker *w, const char *what, int64_t timeout_ns,
                            int rc, int64_t took_ns, uint64_t *timeouts);

/* Bound for "returns promptly after its release/notify/set" (ns): generous,
 * for 16+ threads on 2 loaded cores under TSan. */
int64_t torture_wake_bound(void);

#endif
