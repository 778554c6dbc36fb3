/* cthreading — GIL: CPython's global interpreter lock and its C API.
 *
 * One ct_gil_t is one interpreter lock: at most one thread holds it, the
 * holder calls ct_gil_poll often (CPython's eval-breaker check), and a thread
 * that has waited longer than the switch interval asks the holder to drop it.
 * Several ct_gil_t may exist at once (per-interpreter GILs); they are
 * independent, and every per-thread state below is kept per (thread, GIL).
 *
 * Modes (ct_gil_init):
 *   CT_GIL_CLASSIC   CPython >= 3.2 (Python/ceval_gil.c): a waiter sets a drop
 *                    request after waiting one switch interval without seeing
 *                    a switch; the holder honours it at its next ct_gil_poll
 *                    and, with forced switching, does not take the GIL back
 *                    before another thread had it.  A voluntary release wakes
 *                    a waiter at once.  An I/O-bound thread that comes back
 *                    from a blocking call waits about one interval behind a
 *                    CPU-bound holder (the convoy effect of bpo-7946).
 *   CT_GIL_PRIORITY  As CLASSIC, plus: a thread coming back from a blocking
 *                    section (ct_gil_acquire, CT_END_ALLOW_THREADS,
 *                    ct_gil_ensure) is served before threads that were
 *                    preempted by a drop request (ct_gil_poll, ct_gil_yield)
 *                    and asks the holder to drop at once.  The holder pays
 *                    little for it: it hands over at its next ct_gil_poll,
 *                    spins for the GIL to come back (no queueing, no system
 *                    call when the returning thread's hold is short), and
 *                    wakes a returning thread that went to sleep before
 *                    dropping, not after.  CPU-bound threads
 *                    still share by the switch interval, and a preempted
 *                    thread that has waited a whole interval is served in
 *                    arrival order with the returning ones, so it cannot
 *                    starve either.
 *
 * The GIL owns resources (an entry in a process-wide registry, per-thread
 * states): ct_gil_init it before use and ct_gil_destroy it after.
 *
 * fork(): in the child, every GIL is reset: nobody waits and no drop request
 * is pending; a GIL that was held at the fork is held by the forking thread
 * (like PyOS_AfterFork_Child, where the forking thread holds the GIL), one
 * that was free stays free.  The forking thread's ct_gil_ensure states are
 * kept; other threads' are gone.  The library's fork handlers take the GIL
 * bookkeeping locks before the fork, so the child never sees a waiter queue
 * or state list half-updated; the child may use, init and destroy GILs
 * freely (also from a thread it starts).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_GIL_H
#define CTHREADING_GIL_H

#include "base.h"
#include "lock.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CT_GIL_CLASSIC  0  /* CPython's GIL */
#define CT_GIL_PRIORITY 1  /* returning-from-blocking threads first (no convoy) */

/* Default switch interval: CPython's sys.getswitchinterval() == 0.005 s. */
#define CT_GIL_DEFAULT_INTERVAL CT_MS(5)

/* One interpreter lock: caller-owned storage, set up by ct_gil_init (there is
 * no static initializer: a GIL joins a process-wide registry when it is
 * initialised).  Opaque: the library alone reads and writes it.  136 bytes,
 * aligned for 64-bit words. */
typedef struct ct_gil {
    uint64_t opaque_[17];
} ct_gil_t;

/* What ct_gil_ensure found — PyGILState_STATE. */
typedef enum ct_gil_state {
    CT_GIL_STATE_LOCKED = 0,   /* the caller already held the GIL */
    CT_GIL_STATE_UNLOCKED = 1  /* ct_gil_ensure acquired it */
} ct_gil_state_t;

/* Counters of ct_gil_stats.  A snapshot; each counter is exact on its own. */
typedef struct ct_gil_stats_t {  /* tag != the function ct_gil_stats (C++ -Wshadow) */
    uint64_t switches;        /* takes by a thread other than the previous holder */
    uint64_t forced_drops;    /* drop requests honoured by ct_gil_poll */
    uint64_t drop_requests;   /* times a waiter asked the holder to drop */
    uint64_t wait_total_ns;   /* time threads spent blocked waiting for the GIL */
    uint64_t wait_max_ns;     /* longest single wait */
    uint64_t thread_states;   /* per-thread states alive (ct_gil_ensure users) */
} ct_gil_stats_t;

/* Initialises a GIL, free, with the default switch interval (5 ms) —
 * CPython's _PyEval_InitGIL.
 * mode: CT_GIL_CLASSIC or CT_GIL_PRIORITY.
 * Returns CT_OK; CT_EINVAL for another mode; CT_EAGAIN or CT_ENOMEM if the
 * process-wide per-thread slot could not be created (first GIL only).  On
 * error g is not initialised.  Must not be called on a GIL in use. */
CT_API int ct_gil_init(ct_gil_t *g, int mode);

/* Releases what the GIL owns.  The GIL must be free or held by the caller (a
 * finalising interpreter destroys its GIL while holding it), with no thread
 * waiting for it.  Per-thread states of other threads are detached and freed
 * when those threads exit.  g may be initialised again afterwards.
 * Returns CT_OK; CT_EBUSY if another thread holds the GIL or any thread waits
 * for it (nothing destroyed, the GIL keeps working); CT_EINVAL if g was never
 * initialised or is already destroyed (a zeroed ct_gil_t; nothing touched).
 * A call racing with a thread that takes the GIL at the same moment is still
 * a programming error.  Any thread may call it. */
CT_API int ct_gil_destroy(ct_gil_t *g);

/* Takes the GIL, blocking as long as needed — PyEval_AcquireThread /
 * PyEval_RestoreThread.  Counts as coming back from a blocking section (in
 * CT_GIL_PRIORITY mode the caller is served first and asks the holder to drop
 * at once).  Returns CT_OK, or CT_EDEADLK if the caller already holds it
 * (nothing changes).  Acquire ordering: whatever the previous holder wrote
 * before releasing is visible.  Any thread may call it. */
CT_API int ct_gil_acquire(ct_gil_t *g);

/* Releases the GIL — PyEval_ReleaseThread / PyEval_SaveThread.  Wakes one
 * waiter at once if there is one (no system call when nobody sleeps).
 * Returns CT_OK, or CT_EPERM if the caller does not hold it (nothing changes).
 * Release ordering. */
CT_API int ct_gil_release(ct_gil_t *g);

/* Makes sure the caller holds the GIL — PyGILState_Ensure.  Any thread may
 * call it, also one the library did not create; calls nest.  The first call
 * of a thread on g creates its per-thread state, freed when the thread exits.
 * Returns CT_GIL_STATE_LOCKED if the caller already held the GIL,
 * CT_GIL_STATE_UNLOCKED if this call acquired it (as ct_gil_acquire).  Pass
 * the result to the matching ct_gil_release_state.  Cannot fail; aborts with
 * a message if the per-thread state cannot be allocated (CPython: fatal
 * error). */
CT_API ct_gil_state_t ct_gil_ensure(ct_gil_t *g);

/* Undoes the matching ct_gil_ensure — PyGILState_Release: releases the GIL
 * if that ensure acquired it (st == CT_GIL_STATE_UNLOCKED), otherwise keeps
 * it held.  Returns CT_OK; CT_EINVAL if st is not a ct_gil_state_t value;
 * CT_EPERM if the caller has no open ct_gil_ensure on g or does not hold the
 * GIL (nothing changes). */
CT_API int ct_gil_release_state(ct_gil_t *g, ct_gil_state_t st);

/* True if the calling thread holds the GIL — PyGILState_Check. */
CT_API bool ct_gil_held(const ct_gil_t *g);

/* The holder's periodic check — the GIL part of CPython's eval breaker.
 * Costs one relaxed load while no drop request is pending.  When one is
 * (another thread waited longer than the switch interval, or, in
 * CT_GIL_PRIORITY mode, a thread came back from a blocking section), it
 * releases the GIL, lets the requesting thread run, and takes the GIL back
 * only after another thread has held it (forced switching).
 * CT_GIL_PRIORITY only: if the thread to be served has just gone to sleep
 * (within the last 50 µs), the poll wakes it and keeps the GIL (returns 0),
 * so the holder works on while the thread wakes up instead of waiting for
 * it; a later poll hands over once it asks again (each wait of a thread is
 * woken this way once).  A thread asleep for longer is served at once: a
 * holder that polls that rarely would make it wait a whole extra period.
 * Returns 0 (nothing to do), 1 (the GIL was handed over and is held again),
 * or CT_EPERM if a request is pending and the caller does not hold the GIL
 * (the holder check is made only then, to keep the fast path one load). */
CT_API int ct_gil_poll(ct_gil_t *g);

/* Lets waiting threads run now — a voluntary switch (CPython does this with
 * time.sleep(0)).  If some thread waits, releases the GIL and takes it back
 * after another thread had it, as a preempted thread; else returns at once.
 * Returns 0 (nobody waited), 1 (switched and held again), or CT_EPERM if the
 * caller does not hold the GIL. */
CT_API int ct_gil_yield(ct_gil_t *g);

/* The switch interval in ns — sys.getswitchinterval(). */
CT_API int64_t ct_gil_switch_interval(const ct_gil_t *g);

/* Sets the switch interval — sys.setswitchinterval().  interval_ns: ns, the
 * time a waiter lets pass before asking the holder to drop.  Takes effect at
 * the waiters' next timed wait.  Returns CT_OK; CT_EINVAL if interval_ns <= 0;
 * CT_EOVERFLOW above CT_TIMEOUT_MAX (nothing changes).  Any thread. */
CT_API int ct_gil_set_switch_interval(ct_gil_t *g, int64_t interval_ns);

/* Copies the counters into *out.  Any thread, any time (a snapshot). */
CT_API void ct_gil_stats(const ct_gil_t *g, ct_gil_stats_t *out);

/* Release the GIL around blocking code — Py_BEGIN_ALLOW_THREADS /
 * Py_END_ALLOW_THREADS: BEGIN saves whether the caller held g and releases
 * it; END re-takes it (as coming back from a blocking section) only if BEGIN
 * released it.  They open and close one block, so they must pair up in the
 * same scope. */
#define CT_BEGIN_ALLOW_THREADS(g)                                                  \
    {                                                                              \
        ct_gil_t *const ct__gil_saved = (g);                                       \
        const int ct__gil_released = ct_gil_release(ct__gil_saved) == CT_OK;
#define CT_END_ALLOW_THREADS(g)                                                    \
        if (ct__gil_released)                                                      \
            (void)ct_gil_acquire(ct__gil_saved);                                   \
    }

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_GIL_H */
