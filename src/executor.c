/* Executor: ThreadPoolExecutor and Future over a Lock and the wait layer.
 *
 * Pieces (struct ct__executor):
 *   lock      guards the fields below (order: ex->lock, then a future's lock).
 *   pending   the futures submitted and not yet started, oldest first: an
 *             intrusive doubly-linked list through the futures themselves,
 *             so a cancel unlinks one in O(1) and nothing is allocated per task.
 *   idle      the idle workers, the one that went idle last first: a stack
 *             of nodes in the workers' slots, each with its own wait word
 *             (IDLE_WAITING, IDLE_SLEEPING, IDLE_CALLED).  A submit that
 *             finds an idle worker pops it and calls it (IDLE_CALLED under
 *             ex->lock, and a wake after the lock is dropped, only if it
 *             slept); shutdown calls them all.  The last one to go idle
 *             is the one most likely still polling (no wake-up at all),
 *             and the others, left
 *             alone, are the ones that retire after the idle timeout.
 *             A called worker runs the head of `pending` — or nothing, if
 *             that task was cancelled or taken meanwhile — and a worker
 *             that finishes a task takes the next pending one itself before
 *             it goes idle: per task one hold of ex->lock by the submitter
 *             and one by the worker.  Model-checked: test/model/executor_idle.pml.
 *   workers   max_workers slots: FREE, LIVE (a thread runs in it) or EXITED
 *             (its thread returned or is returning; to be joined before the
 *             slot is reused, by submit, shutdown(wait) or destroy).
 *
 * Submit never waits behind a running task: under ex->lock it appends the
 * future, and calls an idle worker if there is one, else starts one if
 * fewer than max_workers live (else a busy worker takes the task when it is
 * done: it looks at `pending` under ex->lock before going idle).  A worker
 * whose idle wait timed out retires only if, under ex->lock, nothing is
 * pending; it stays counted in nworkers while its finalizer runs (so
 * max_workers = 1 never has two resources alive), and afterwards checks
 * once more under ex->lock: a task that arrived meanwhile (its submit saw
 * the worker still counted and started nobody) makes it run its initializer
 * again and serve.  Hence no task is ever left without a worker.
 *
 * Future word (struct ct__future.state; named CT__FUTURE_<name> in
 * internal/executor.h), bits 0-3 the state, bit 4 WAITERS, bit 5 CALLBACKS:
 *   IDLE 0 -> PENDING 1 (submit) -> RUNNING 2 (a worker took it) ->
 *   COMPLETING 3 (result set; callbacks running on the completing thread) ->
 *   CLOSING 6 (callbacks closed) -> FINISHED 4 or CANCELLED 5.
 *   PENDING -> COMPLETING with `cancelled` set: cancel / shutdown.
 *   RUNNING -> FINISHED in one CAS when CALLBACKS is clear: a worker's
 *   completion with no done callback (complete_ran; test/model/future.pml).
 * PENDING -> RUNNING and PENDING -> COMPLETING happen under ex->lock with
 * the future unlinked from `pending` in the same step, so exactly one of
 * "a worker runs it" and "it is cancelled" happens.  COMPLETING -> CLOSING
 * happens under the future's lock, which add_done_callback takes (and, while
 * PENDING or RUNNING, sets CALLBACKS before it appends): a
 * callback added before CLOSING is run by the completing thread, one added
 * at CLOSING or later waits for the final state and runs at once.  The final
 * store is the executor's last access to the future's memory (the wake that
 * may follow only uses its address), so a thread that sees FINISHED or
 * CANCELLED may free the future.  Waiters set WAITERS before sleeping on the
 * word; the final store wakes them only if it was set.
 *
 * Memory orders: the final state store is release and the waits' loads are
 * acquire (the result and all the task did are visible); everything else is
 * ordered by the locks, except CALLBACKS: add_done_callback's relaxed CAS
 * and the worker's lock-free completion CAS are ordered by the word alone
 * (one of them fails), and a worker that sees the bit takes f's lock, which
 * the adder holds until its callback is appended.  A final word may keep
 * CALLBACKS set; it means nothing there, and a new submit clears it.
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cthreading/executor.h"
#include "cthreading/thread.h"
#include "internal/shm.h"
#include "internal/atomic.h"
#include "internal/executor.h"
#include "internal/platform.h"
#include "internal/spin.h"
#include "platform/os.h"
#include "wait/wait.h"

enum { SLOT_FREE = 0, SLOT_LIVE = 1, SLOT_EXITED = 2 };

/* An idle worker's node (in its slot, linked under ex->lock). */
enum { IDLE_WAITING = 0, IDLE_SLEEPING = 1, IDLE_CALLED = 2 };
struct ct__executor_idle {
    struct ct__executor_idle *next, *prev;
    uint32_t word;                   /* IDLE_*; waited on */
};

struct ct__executor_worker {
    /* 1 while the worker runs a task: set under ex->lock as it takes one,
     * cleared (release) when the call returns; destroy reads it (acquire)
     * under ex->lock.  Written twice per task by the worker alone, so no
     * two slots' flags share a cache line (slots are 128 bytes apart):
     * a counter shared by all workers, on the line of ex->lock, cost ~20 %
     * of the throughput with four submitters (bench_queue.c's rows). */
    uint32_t busy;
    uint32_t state;                  /* SLOT_*, under ex->lock */
    uint64_t ident;                  /* the worker thread's ident, under ex->lock */
    ct_thread_t thread;
    struct ct__executor *ex;
    /* The worker's idle node, reused by every idle round.  A submit wakes
     * a sleeping worker after it dropped ex->lock, so that late wake may
     * find the worker called already and gone on: asleep on its next idle
     * round (a spurious return; its loop waits again), retired, or even
     * the executor destroyed and this table freed.  That is safe because
     * a wake only uses the word's address (every wait backend, as in
     * cond.c and queue.c); the slot keeps the address stable while the
     * executor lives. */
    struct ct__executor_idle idle;
    char pad_[128 - 2 * sizeof(uint32_t) - sizeof(uint64_t) - sizeof(ct_thread_t) -
              sizeof(struct ct__executor *) - sizeof(struct ct__executor_idle)];
};
_Static_assert(sizeof(struct ct__executor_worker) == 128, "two busy flags never share a line");

/* The executor's waits poll with a yield, not with PAUSE.  A future wait and
 * an idle worker's wait look at their word, and if it has not changed give
 * the CPU away (sched_yield / SwitchToThread) and look again, up to an
 * adaptive number of rounds (internal/spin.h's rule, bounds below), before
 * they park.  Why: the executor's threads usually outnumber the CPUs (four
 * submitters and two workers on two CPUs is the common shape), and there a
 * PAUSE spin runs on the CPU that the thread it waits for needs; the
 * spinners' wins (a submitter arriving, a task finishing) kept their
 * budgets high, so the waste never showed in the policy.  A yielding
 * waiter lets a runnable thread on its CPU run at once, and on an otherwise
 * idle CPU a yield returns at once (~0.3 µs) and the loop still sees a
 * hand-off without any system call on the waker's side.  Measured with
 * bench_queue.c's loop (empty tasks, window 64, 1M tasks; six interleaved
 * runs of each build, medians, M tasks/s), PAUSE spin -> yield polls:
 * 4 submitters / 2 workers 5.4 -> 12.4, 1/2 4.5 -> 9.9, 4/4 6.5 -> 11.5,
 * 1/4 4.3 -> 11.2.  A win took one yield in nearly every wait (counted),
 * and at most 16 rounds did as well as 500.  No spin at all gave 7.2 at
 * 4/2 but 1.5 at 1/2 (every submit then wakes a sleeping worker).
 *
 * Future waits and idle waits: 1 to 16 rounds, a thread starts at 16. */
#ifndef CT_EXECUTOR_YIELD_MAX
#define CT_EXECUTOR_YIELD_MAX 16u
#endif
#define YIELD_BOUNDS ((struct ct__spin_bounds){ 1u, CT_EXECUTOR_YIELD_MAX })
CT__SPIN_POLICY(spin_policy, CT_EXECUTOR_YIELD_MAX);

/* A wait right after this thread's submit woke a sleeping worker: the task
 * cannot finish before the worker's wake-up (~10-30 µs here), so that wait
 * may poll longer, 2 to 64 rounds ("rebound", internal/spin.h); a waiter
 * that sleeps meanwhile costs a second wake-to-run hand-off.  Measured with
 * bench_queue.c's round-trip row (fresh client per run). */
#define REBOUND_BOUNDS ((struct ct__spin_bounds){ 2u, 4u * CT_EXECUTOR_YIELD_MAX })
CT__SPIN_POLICY(rebound_policy, 4u * CT_EXECUTOR_YIELD_MAX);
static _Thread_local bool woke_worker;

/* An idle worker polls (YIELD_BOUNDS) before it sleeps: a submitter that
 * keeps it busy calls it again within a few µs, and a call that finds it
 * awake costs no system call. */
CT__SPIN_POLICY(idle_policy, CT_EXECUTOR_YIELD_MAX);

/* ---- the future word ------------------------------------------------------------- */

static inline _Atomic uint32_t *fword(struct ct__future *f) { return CT__A32(&f->state); }

static inline uint32_t fstate(struct ct__future *f)
{
    return ct__load_acquire(fword(f)) & CT__FUTURE_STATE_MASK;
}

/* The flag bits a state change keeps. */
#define KEEP (CT__FUTURE_WAITERS | CT__FUTURE_CALLBACKS)

/* Sets the state, keeping WAITERS and CALLBACKS; returns the previous word. */
static uint32_t set_state(struct ct__future *f, uint32_t state, memory_order order)
{
    _Atomic uint32_t *w = fword(f);
    uint32_t old = ct__load_relaxed(w);
    while (!atomic_compare_exchange_weak_explicit(w, &old, (old & KEEP) | state,
                                                  order, memory_order_relaxed))
        ;
    return old;
}

static inline bool is_final(uint32_t st)
{
    return st == CT__FUTURE_FINISHED || st == CT__FUTURE_CANCELLED;
}

/* The calling thread is completing f right now (it runs f's callbacks). */
static bool completing_here(struct ct__future *f, uint32_t st)
{
    return (st == CT__FUTURE_COMPLETING || st == CT__FUTURE_CLOSING) &&
           ct__load_relaxed(CT__A64(&f->completer)) == ct_thread_ident();
}

/* Done, as the calling thread sees it. */
static bool done_for_me(struct ct__future *f, uint32_t st)
{
    return is_final(st) || completing_here(f, st);
}

/* Waits until f is done for this thread or the deadline passes.  Returns the
 * state seen last. */
static uint32_t wait_done(struct ct__future *f, int64_t deadline)
{
    _Atomic uint32_t *w = fword(f);
    bool rebound = woke_worker;
    struct ct__spin *budget_p = rebound ? &rebound_policy : &spin_policy;
    struct ct__spin_bounds bounds = rebound ? REBOUND_BOUNDS : YIELD_BOUNDS;
    unsigned budget = ct__spin_rounds(budget_p, bounds);
    uint32_t v, st;

    if ((st = fstate(f)) != 0 && done_for_me(f, st))
        return st;
    if (deadline != CT__NO_DEADLINE && ct__deadline_passed(deadline))
        return st;
    woke_worker = false;
    /* A yield may give the CPU away for a scheduler slice: a timed wait
     * looks at its deadline before each one. */
    for (unsigned i = 0; i < budget && !ct__deadline_passed(deadline); i++) {
        if (is_final(st = fstate(f))) {
            ct__spin_won_after(budget_p, i, bounds);
            return st;
        }
        ct__os_yield();
    }
    ct__spin_slept(budget_p, bounds);
    for (;;) {
        v = ct__load_acquire(w);
        st = v & CT__FUTURE_STATE_MASK;
        if (done_for_me(f, st))
            return st;
        if (!(v & CT__FUTURE_WAITERS) &&
            !atomic_compare_exchange_weak_explicit(w, &v, v | CT__FUTURE_WAITERS,
                                                   memory_order_acquire, memory_order_acquire))
            continue;
        if (ct__wait_until(&f->state, v | CT__FUTURE_WAITERS, deadline) == CT_ETIMEDOUT) {
            st = fstate(f);
            return st;
        }
    }
}

/* PENDING or RUNNING -> COMPLETING with the outcome (f's lock is taken here;
 * for a cancel the caller holds ex->lock, which orders it with the workers). */
static void begin_complete(struct ct__future *f, bool cancelled, void *result)
{
    ct_lock_acquire(&f->lock);
    f->result = result;
    ct__store_relaxed(CT__A32(&f->cancelled), cancelled ? 1u : 0u);
    ct__store_relaxed(CT__A64(&f->completer), ct_thread_ident());
    (void)set_state(f, CT__FUTURE_COMPLETING, memory_order_relaxed);
    (void)ct_lock_release(&f->lock);
}

static void finish_complete(struct ct__future *f);

/* A worker's completion of f (RUNNING).  No done callback was added
 * (CALLBACKS clear): one CAS RUNNING -> FINISHED, result first, no lock —
 * the waiter that spins on the word sees one write to its line, not the four
 * of a lock hold and two state changes (measured: ~40 % of the empty-task
 * throughput with four submitters).  An add_done_callback sets CALLBACKS
 * under f's lock before it appends, and only while the state is PENDING or
 * RUNNING, so either our CAS comes first (the adder then finds FINISHED and
 * runs its callback itself) or we see the bit and take the two steps under
 * the lock, where the appended callback is (test/model/future.pml). */
static void complete_ran(struct ct__future *f, void *result)
{
    _Atomic uint32_t *w = fword(f);
    uint32_t v;

    f->result = result;
    v = ct__load_relaxed(w);
    while (!(v & CT__FUTURE_CALLBACKS)) {
        if (atomic_compare_exchange_weak_explicit(w, &v,
                                                  (v & CT__FUTURE_WAITERS) | CT__FUTURE_FINISHED,
                                                  memory_order_release, memory_order_relaxed)) {
            if (v & CT__FUTURE_WAITERS)
                ct_wake_all(&f->state);
            return;
        }
    }
    begin_complete(f, false, result);
    finish_complete(f);
}

/* Runs f's done callbacks on this thread, then publishes the final state:
 * after that store f is never touched again. */
static void finish_complete(struct ct__future *f)
{
    uint32_t next = 0, final, old;

    ct_lock_acquire(&f->lock);
    while (next < f->ncallbacks) {
        void (*cb)(ct_future_t *, void *) = f->callbacks[next].cb;
        void *arg = f->callbacks[next].arg;
        next++;
        (void)ct_lock_release(&f->lock);
        cb(ct__future_handle(f), arg);
        ct_lock_acquire(&f->lock);
    }
    (void)set_state(f, CT__FUTURE_CLOSING, memory_order_relaxed);
    final = ct__load_relaxed(CT__A32(&f->cancelled)) ? CT__FUTURE_CANCELLED : CT__FUTURE_FINISHED;
    (void)ct_lock_release(&f->lock);
    old = set_state(f, final, memory_order_release);
    if (old & CT__FUTURE_WAITERS)
        ct_wake_all(&f->state);
}

/* ---- the pending list (ex->lock held) ------------------------------------------------ */

static void pending_append(struct ct__executor *ex, struct ct__future *f)
{
    f->next = NULL;
    f->prev = ex->pending_tail;
    if (ex->pending_tail != NULL)
        ex->pending_tail->next = f;
    else
        ex->pending_head = f;
    ex->pending_tail = f;
    ex->npending++;
}

static void pending_unlink(struct ct__executor *ex, struct ct__future *f)
{
    if (f->prev != NULL)
        f->prev->next = f->next;
    else
        ex->pending_head = f->next;
    if (f->next != NULL)
        f->next->prev = f->prev;
    else
        ex->pending_tail = f->prev;
    f->next = f->prev = NULL;
    ex->npending--;
}

/* ---- workers ----------------------------------------------------------------------------- */

/* ex->lock held: pushes / unlinks an idle worker's node. */
static void idle_push(struct ct__executor *ex, struct ct__executor_idle *n)
{
    n->prev = NULL;
    n->next = ex->idle;
    if (ex->idle != NULL)
        ex->idle->prev = n;
    ex->idle = n;
}

static void idle_unlink(struct ct__executor *ex, struct ct__executor_idle *n)
{
    if (n->prev != NULL)
        n->prev->next = n->next;
    else
        ex->idle = n->next;
    if (n->next != NULL)
        n->next->prev = n->prev;
    n->next = n->prev = NULL;
}

/* ex->lock held: calls the idle worker of node n (unlinked already).
 * Returns true if it was asleep: the caller then wakes it with idle_wake,
 * after it dropped ex->lock (a worker woken while the submitter still holds
 * the lock would run only to sleep on the lock it needs first).  That wake
 * may come after the worker went on (struct ct__executor_worker: why that
 * is safe). */
static bool idle_call(struct ct__executor_idle *n)
{
    return atomic_exchange_explicit(CT__A32(&n->word), IDLE_CALLED, memory_order_release) ==
           IDLE_SLEEPING;
}

static void idle_wake(struct ct__executor_idle *n)
{
    ct_wake_one(&n->word);
}

/* Waits, ex->lock not held, until the node is called or the deadline
 * passes. */
static void idle_wait(struct ct__executor_idle *n, int64_t deadline)
{
    _Atomic uint32_t *w = CT__A32(&n->word);
    unsigned budget = ct__spin_rounds(&idle_policy, YIELD_BOUNDS);
    uint32_t expected = IDLE_WAITING;

    for (unsigned i = 0; i < budget; i++) {
        if (ct__load_acquire(w) == IDLE_CALLED) {
            ct__spin_won_after(&idle_policy, i, YIELD_BOUNDS);
            return;
        }
        ct__os_yield();
    }
    if (budget > 0)
        ct__spin_slept(&idle_policy, YIELD_BOUNDS);
    if (!atomic_compare_exchange_strong_explicit(w, &expected, IDLE_SLEEPING,
                                                 memory_order_acquire, memory_order_acquire))
        return;                                   /* called just now */
    while (ct__load_acquire(w) != IDLE_CALLED)
        if (ct__wait_until(&n->word, IDLE_SLEEPING, deadline) == CT_ETIMEDOUT)
            return;
}

/* Runs pending tasks, and waits idle for more, until the idle timeout
 * (returns false, nothing pending) or the shutdown with nothing left to run
 * (returns true). */
static bool serve(struct ct__executor *ex, struct ct__executor_worker *slot)
{
    int64_t idle = ex->opts.idle_timeout_ns > 0 ? ex->opts.idle_timeout_ns : CT_FOREVER;
    struct ct__executor_idle *node = &slot->idle;

    ct_lock_acquire(&ex->lock);
    for (;;) {
        struct ct__future *f = ex->pending_head;

        if (f != NULL) {
            void *result;

            pending_unlink(ex, f);
            (void)set_state(f, CT__FUTURE_RUNNING, memory_order_relaxed);
            ct__store_relaxed(CT__A32(&slot->busy), 1u);
            (void)ct_lock_release(&ex->lock);
            result = f->fn(f->arg);
            /* Without ex->lock: destroy reads the flag under it, and a task
             * that has returned no longer needs the executor (its completion
             * touches only the future, and destroy joins this worker before
             * freeing anything). */
            ct__store_release(CT__A32(&slot->busy), 0u);
            complete_ran(f, result);
            ct_lock_acquire(&ex->lock);
            continue;
        }
        if (ex->shutdown) {
            (void)ct_lock_release(&ex->lock);
            return true;
        }
        ct__store_relaxed(CT__A32(&node->word), IDLE_WAITING);
        idle_push(ex, node);
        (void)ct_lock_release(&ex->lock);
        idle_wait(node, ct__deadline_of(idle));
        ct_lock_acquire(&ex->lock);
        if (ct__load_relaxed(CT__A32(&node->word)) != IDLE_CALLED) {
            /* Timed out, nobody called us: retire, unless work came. */
            idle_unlink(ex, node);
            if (ex->pending_head == NULL && !ex->shutdown) {
                (void)ct_lock_release(&ex->lock);
                return false;
            }
        }
    }
}

static void worker_main(void *p)
{
    struct ct__executor_worker *slot = p;
    struct ct__executor *ex = slot->ex;

    ct_lock_acquire(&ex->lock);
    slot->ident = ct_thread_ident();
    (void)ct_lock_release(&ex->lock);
    for (;;) {
        bool shut;
        if (ex->opts.initializer != NULL)
            ex->opts.initializer(ex->opts.init_arg);
        shut = serve(ex, slot);
        if (ex->opts.finalizer != NULL)
            ex->opts.finalizer(ex->opts.init_arg);
        ct_lock_acquire(&ex->lock);
        (void)shut;
        if (ex->pending_head != NULL) {
            /* A submit came while we retired and counted on us (also just
             * before a draining shutdown, whose tasks must still run): serve
             * again.  After a shutdown that drained, nothing is left. */
            (void)ct_lock_release(&ex->lock);
            continue;
        }
        slot->state = SLOT_EXITED;
        ex->nworkers--;
        (void)ct_lock_release(&ex->lock);
        return;
    }
}

/* Starts a worker (ex->lock held).  Returns CT_OK, CT_EAGAIN or CT_ENOMEM. */
static int start_worker(struct ct__executor *ex)
{
    struct ct__executor_worker *slot = NULL;
    int rc;

    for (unsigned i = 0; i < ex->opts.max_workers; i++) {
        struct ct__executor_worker *s = &ex->workers[i];
        if (s->state == SLOT_FREE) {
            slot = s;
            break;
        }
        if (s->state == SLOT_EXITED && slot == NULL)
            slot = s;
    }
    if (slot == NULL)
        return CT_EAGAIN;                         /* cannot happen: nworkers < max */
    if (slot->state == SLOT_EXITED) {
        /* Its thread set EXITED under this lock and needs it no more. */
        (void)ct_thread_join(&slot->thread, CT_FOREVER);
        slot->state = SLOT_FREE;
    }
    slot->ex = ex;
    slot->ident = 0;
    char name[96];
    unsigned index = (unsigned)(slot - ex->workers);
    if (ex->opts.thread_name_prefix != NULL)
        snprintf(name, sizeof name, "%.80s_%u", ex->opts.thread_name_prefix, index);
    else
        snprintf(name, sizeof name, "ThreadPoolExecutor-%u_%u", ex->serial, index);
    ct_thread_options_t to = { .name = name };
    if ((rc = ct_thread_start_ex(&slot->thread, &to, worker_main, slot)) != CT_OK)
        return rc;
    slot->state = SLOT_LIVE;
    ex->nworkers++;
    return CT_OK;
}

/* ---- the executor ---------------------------------------------------------------------------- */

static bool initialised(struct ct__executor *ex)
{
    return ct__load_acquire(CT__A32(&ex->initialised)) == CT__EXECUTOR_MAGIC;
}

/* Numbers the executors made without a name prefix, from 0 (CPython's
 * counter, which also counts only those). */
static uint32_t executors_made;

int ct_executor_init(ct_executor_t *handle, const ct_executor_options_t *opts)
{
    struct ct__executor *ex = ct__executor_of(handle);
    ct_executor_options_t o;
    int rc;

    assert(ex != NULL);
    if (ct__shm_contains(handle))
        return CT_EINVAL;        /* per process: not inside a region (shm.h) */
    memset(&o, 0, sizeof o);
    if (opts != NULL)
        o = *opts;
    if (o.idle_timeout_ns == CT_FOREVER)
        o.idle_timeout_ns = 0;                    /* also "never retire" */
    if (o.idle_timeout_ns < 0)
        return CT_EINVAL;
    if ((rc = ct__timeout_check(o.idle_timeout_ns)) != CT_OK)
        return rc;
    if (o.max_workers == 0) {
        unsigned cpus = ct__os_cpu_count();
        o.max_workers = cpus + 4 < 32 ? cpus + 4 : 32;
    }
    memset(ex, 0, sizeof *ex);
    ex->workers = calloc(o.max_workers, sizeof *ex->workers);
    if (ex->workers == NULL)
        return CT_ENOMEM;
    ex->opts = o;
    if (o.thread_name_prefix == NULL)
        ex->serial = atomic_fetch_add_explicit(CT__A32(&executors_made), 1, memory_order_relaxed);
    ct__store_release(CT__A32(&ex->initialised), CT__EXECUTOR_MAGIC);
    return CT_OK;
}

int ct_executor_submit(ct_executor_t *handle, ct_future_t *future, void *(*fn)(void *), void *arg)
{
    struct ct__executor *ex = ct__executor_of(handle);
    struct ct__future *f = ct__future_of(future);
    struct ct__executor_idle *called = NULL;
    int rc;

    assert(ex != NULL && f != NULL && fn != NULL);
    if (!initialised(ex))
        return CT_EINVAL;
    woke_worker = false;
    ct_lock_acquire(&ex->lock);
    if (ex->shutdown) {
        rc = CT_ESHUTDOWN;
        goto out;
    }
    uint32_t st = fstate(f);
    if (st != CT__FUTURE_IDLE && !is_final(st)) {
        rc = CT_EBUSY;
        goto out;
    }
    /* Kept only where it may be needed: a submit that must start the first
     * worker and cannot gives the future back as it was. */
    struct ct__future saved;
    bool may_roll_back = ex->idle == NULL && ex->nworkers == 0;
    if (may_roll_back)
        saved = *f;
    f->fn = fn;
    f->arg = arg;
    f->result = NULL;
    f->ex = ex;
    f->ncallbacks = 0;
    f->cancelled = 0;
    f->completer = 0;
    ct__store_release(fword(f), CT__FUTURE_PENDING);     /* publishes f->ex to a canceller */
    pending_append(ex, f);
    rc = CT_OK;
    woke_worker = false;
    if (ex->idle != NULL) {
        called = ex->idle;
        idle_unlink(ex, called);
        woke_worker = idle_call(called);
    } else if (ex->nworkers < ex->opts.max_workers) {
        int start = start_worker(ex);
        if (start != CT_OK && ex->nworkers == 0) {
            /* may_roll_back holds: start_worker keeps ex->lock and only
             * ever raises nworkers, which was 0 above. */
            assert(may_roll_back);
            pending_unlink(ex, f);                /* nobody could run it */
            if (may_roll_back)
                *f = saved;
            rc = CT_EAGAIN;
        }
    }
out:
    (void)ct_lock_release(&ex->lock);
    if (woke_worker)
        idle_wake(called);
    return rc;
}

int ct_executor_shutdown(ct_executor_t *handle, bool wait, bool cancel_futures)
{
    struct ct__executor *ex = ct__executor_of(handle);
    struct ct__future *cancelled = NULL, *f;
    uint64_t me = ct_thread_ident();

    assert(ex != NULL);
    if (!initialised(ex))
        return CT_EINVAL;
    ct_lock_acquire(&ex->lock);
    ex->shutdown = 1;
    if (cancel_futures) {
        /* Take every queued future out, now COMPLETING on this thread; the
         * chain stays linked through `next` until each is finished. */
        cancelled = ex->pending_head;
        for (f = cancelled; f != NULL; f = f->next)
            begin_complete(f, true, NULL);
        ex->pending_head = ex->pending_tail = NULL;
        ex->npending = 0;
    }
    while (ex->idle != NULL) {                    /* nothing left for them: leave */
        struct ct__executor_idle *n = ex->idle;
        idle_unlink(ex, n);
        if (idle_call(n))
            idle_wake(n);     /* under ex->lock: shutdown is rare, keep it simple */
    }
    (void)ct_lock_release(&ex->lock);
    while (cancelled != NULL) {
        f = cancelled;
        cancelled = f->next;                      /* read before f may be freed */
        finish_complete(f);
    }
    if (!wait)
        return CT_OK;
    ct_lock_acquire(&ex->join_lock);
    for (unsigned i = 0; i < ex->opts.max_workers; i++) {
        struct ct__executor_worker *s = &ex->workers[i];
        ct_lock_acquire(&ex->lock);
        bool join = s->state != SLOT_FREE && s->ident != me;
        (void)ct_lock_release(&ex->lock);
        if (!join)
            continue;
        (void)ct_thread_join(&s->thread, CT_FOREVER);
        ct_lock_acquire(&ex->lock);
        s->state = SLOT_FREE;
        (void)ct_lock_release(&ex->lock);
    }
    (void)ct_lock_release(&ex->join_lock);
    return CT_OK;
}

int ct_executor_destroy(ct_executor_t *handle)
{
    struct ct__executor *ex = ct__executor_of(handle);
    assert(ex != NULL);
    if (!initialised(ex))
        return CT_EINVAL;
    ct_lock_acquire(&ex->lock);
    /* From one of its own workers (a task or a done callback): joining that
     * worker would deadlock, and freeing the table under it would be a
     * use-after-free when it returns.  Cheap to see, so refused. */
    uint64_t me = ct_thread_ident();
    for (unsigned i = 0; i < ex->opts.max_workers; i++) {
        if (ex->workers[i].state != SLOT_FREE && ex->workers[i].ident == me) {
            (void)ct_lock_release(&ex->lock);
            return CT_EDEADLK;
        }
    }
    bool busy = false;
    for (unsigned i = 0; i < ex->opts.max_workers; i++)
        busy |= ct__load_acquire(CT__A32(&ex->workers[i].busy)) != 0;
    if (!ex->shutdown || ex->npending != 0 || busy) {
        (void)ct_lock_release(&ex->lock);
        return CT_EBUSY;
    }
    ct__store_relaxed(CT__A32(&ex->initialised), 0);
    (void)ct_lock_release(&ex->lock);
    /* Shut down with nothing left to run: every worker is leaving. */
    ct_lock_acquire(&ex->join_lock);
    for (unsigned i = 0; i < ex->opts.max_workers; i++) {
        struct ct__executor_worker *s = &ex->workers[i];
        ct_lock_acquire(&ex->lock);
        bool join = s->state != SLOT_FREE;
        (void)ct_lock_release(&ex->lock);
        if (join)
            (void)ct_thread_join(&s->thread, CT_FOREVER);
    }
    (void)ct_lock_release(&ex->join_lock);
    free(ex->workers);
    memset(ex, 0, sizeof *ex);
    return CT_OK;
}

/* ---- futures ------------------------------------------------------------------------------------ */

bool ct_future_cancel(ct_future_t *future)
{
    struct ct__future *f = ct__future_of(future);
    assert(f != NULL);
    for (;;) {
        uint32_t v = ct__load_acquire(fword(f)), st = v & CT__FUTURE_STATE_MASK;
        switch (st) {
        case CT__FUTURE_IDLE:
            /* Never submitted: it becomes a cancelled (done) future. */
            ct__store_relaxed(CT__A32(&f->cancelled), 1u);
            if (atomic_compare_exchange_strong_explicit(fword(f), &v,
                                                        (v & CT__FUTURE_WAITERS) |
                                                            CT__FUTURE_CANCELLED,
                                                        memory_order_release,
                                                        memory_order_relaxed))
                return true;
            continue;
        case CT__FUTURE_CANCELLED:
            return true;
        case CT__FUTURE_RUNNING:
        case CT__FUTURE_FINISHED:
            return false;
        case CT__FUTURE_COMPLETING:
        case CT__FUTURE_CLOSING:
            if (completing_here(f, st))
                return ct__load_relaxed(CT__A32(&f->cancelled)) != 0;
            return wait_done(f, CT__NO_DEADLINE) == CT__FUTURE_CANCELLED;
        default: {                                /* PENDING */
            struct ct__executor *ex = f->ex;
            bool won = false;
            ct_lock_acquire(&ex->lock);
            if (fstate(f) == CT__FUTURE_PENDING) {           /* still in the list */
                pending_unlink(ex, f);
                begin_complete(f, true, NULL);
                won = true;
            }
            (void)ct_lock_release(&ex->lock);
            if (won) {
                finish_complete(f);
                return true;
            }
            continue;                             /* a worker took it, or a shutdown */
        }
        }
    }
}

bool ct_future_done(ct_future_t *future)
{
    struct ct__future *f = ct__future_of(future);
    assert(f != NULL);
    return done_for_me(f, fstate(f));
}

bool ct_future_cancelled(ct_future_t *future)
{
    struct ct__future *f = ct__future_of(future);
    uint32_t st;

    assert(f != NULL);
    st = fstate(f);
    if (st == CT__FUTURE_CANCELLED)
        return true;
    return completing_here(f, st) && ct__load_relaxed(CT__A32(&f->cancelled)) != 0;
}

int ct_future_wait(ct_future_t *future, int64_t timeout_ns)
{
    struct ct__future *f = ct__future_of(future);
    int64_t deadline;
    int rc;

    assert(f != NULL);
    if ((rc = ct__deadline_after(timeout_ns, &deadline)) != CT_OK)
        return rc;
    uint32_t st = fstate(f);
    if (st == CT__FUTURE_IDLE)
        return CT_EINVAL;
    st = wait_done(f, deadline);
    return done_for_me(f, st) ? CT_OK : CT_ETIMEDOUT;
}

int ct_future_result(ct_future_t *future, void **out, int64_t timeout_ns)
{
    struct ct__future *f = ct__future_of(future);
    int rc;

    assert(f != NULL && out != NULL);
    if ((rc = ct_future_wait(future, timeout_ns)) != CT_OK)
        return rc;
    if (ct__load_relaxed(CT__A32(&f->cancelled)))
        return CT_ECANCELLED;
    *out = f->result;
    return CT_OK;
}

int ct_future_add_done_callback(ct_future_t *future, void (*cb)(ct_future_t *, void *),
                                void *arg)
{
    struct ct__future *f = ct__future_of(future);
    uint32_t st;

    assert(f != NULL);
    if (cb == NULL)
        return CT_EINVAL;
    st = fstate(f);
    if (st == CT__FUTURE_IDLE)
        return CT_EINVAL;
    if (!done_for_me(f, st)) {
        _Atomic uint32_t *w = fword(f);
        ct_lock_acquire(&f->lock);
        for (;;) {
            uint32_t v = ct__load_acquire(w);
            st = v & CT__FUTURE_STATE_MASK;
            if (st != CT__FUTURE_PENDING && st != CT__FUTURE_RUNNING &&
                st != CT__FUTURE_COMPLETING)
                break;
            if (f->ncallbacks == CT_FUTURE_MAX_CALLBACKS) {
                (void)ct_lock_release(&f->lock);
                return CT_EOVERFLOW;                  /* nothing written */
            }
            /* Before completion: set CALLBACKS first, so that the worker's
             * lock-free completion (complete_ran) sees it or has happened
             * (a failed CAS reloads: the worker may have finished). */
            if (st != CT__FUTURE_COMPLETING && !(v & CT__FUTURE_CALLBACKS) &&
                !atomic_compare_exchange_weak_explicit(w, &v, v | CT__FUTURE_CALLBACKS,
                                                       memory_order_relaxed,
                                                       memory_order_relaxed))
                continue;
            f->callbacks[f->ncallbacks].cb = cb;
            f->callbacks[f->ncallbacks].arg = arg;
            f->ncallbacks++;
            (void)ct_lock_release(&f->lock);
            return CT_OK;
        }
        (void)ct_lock_release(&f->lock);
        /* CLOSING: the completing thread will not look again; wait for the
         * final state (moments away) and run it here. */
        (void)wait_done(f, CT__NO_DEADLINE);
    }
    cb(future, arg);
    return CT_OK;
}
