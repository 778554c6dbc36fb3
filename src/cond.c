/* Condition: threading.Condition over a FIFO of waiters parked on their own words.
 *
 * Fields (ct_cond_t):
 *   lock     which lock is bound, as an offset from the condition itself (so
 *            a condition in shared memory names its lock in every process):
 *                                   0            the condition's own RLock (u.own)
 *                                   off          an external ct_rlock_t at c + off
 *                                   off | 1      an external ct_lock_t at c + off
 *            (both types are at least 4-byte aligned, so bit 0 is free, and
 *            an external lock is another object, so off != 0).
 *   q.waiters  oldest node of a circular doubly-linked list of waiters; its
 *            prev is the newest.  NULL when nobody waits.
 *   q.words  instead of q.waiters for a condition inside a region of shared
 *            memory (the shared queue, below).
 *   u.guard  for a Lock only (u.own is unused then): a Lock that protects the
 *            queue.  An RLock's owner is exact, so "the caller owns it" makes
 *            the bound RLock itself the queue's lock.  A Lock has no owner:
 *            "it is locked" may be true because *another* thread holds it, so
 *            the queue gets its own guard and a misused condition can never
 *            corrupt it (nodes live on waiters' stacks: a corrupt list would
 *            write into dead stack frames).  Order: bound lock, then guard.
 *
 * Each waiter puts a node on its own stack and parks on the node's word:
 *   WAITING  0  queued, spinning
 *   SLEEPING 1  queued, and the waiter may sleep on the word (or did)
 *   NOTIFIED 2  a notifier took the node out of the queue: the wait is a success
 *
 * Transitions, all but the waiter's own under the queue lock (bound lock or
 * guard):  enqueue sets WAITING; the waiter alone does WAITING -> SLEEPING by
 * CAS before sleeping; a notifier unlinks the node and XCHGs it to NOTIFIED,
 * waking the word only if it saw SLEEPING (a spinning waiter costs no system
 * call).  No lost wake-up: the waiter sleeps only while the word is SLEEPING
 * (checked atomically by the wait layer), and a notifier that changed it
 * after the waiter's CAS wakes it.
 *
 * Exactly-once notification: a node is in the queue until exactly one of two
 * things happens under the queue lock — a notifier unlinks it (and counts it),
 * or its waiter, after timing out and re-taking the lock, finds it still
 * WAITING/SLEEPING and unlinks it itself (CT_ETIMEDOUT).  A waiter that timed
 * out but finds NOTIFIED reports CT_OK: the notification that raced its
 * timeout is not lost.  A waiter returns CT_OK only for NOTIFIED, so there are
 * no spurious wake-ups, and notify takes nodes from the head: FIFO.
 *
 * Node lifetime: after the XCHG to NOTIFIED the notifier touches only the
 * node's address (the wake), never its memory; waking an address whose owner
 * has already returned is harmless in every wait backend.  Everything else a
 * notifier reads or writes in a node happens before the XCHG, while the node
 * is still queued, and the waiter cannot dequeue itself without the lock.
 *
 * Memory orders: the queue and the nodes' links are ordered by the queue
 * lock.  The state XCHG is release and the waiter's loads acquire, although
 * the waiter re-takes the lock before it returns anyway.
 *
 * The shared queue.  Nodes on waiters' stacks cannot be reached from another
 * process, so a condition inside a region counts its waiters instead:
 *   q.words[0]  SEQ: the futex word, +1 by every notify that chose someone
 *   q.words[1]  UNCHOSEN (bits 0-15): waiters no notify has counted yet;
 *               CHOSEN (bits 16-31): notifications not yet claimed.
 * Every change is made under the bound lock (by atomics, so a misused
 * condition only miscounts).  A waiter notes SEQ as `e` and counts itself
 * UNCHOSEN, releases the lock and sleeps while SEQ == e.  notify(n) moves
 * k = min(n, UNCHOSEN) from UNCHOSEN to CHOSEN, increments SEQ and wakes
 * (one thread, or all if k > 1).  A waiter back under the lock claims a
 * notification (CHOSEN - 1, returns CT_OK) only if SEQ != e, i.e. a notify
 * came after it registered; otherwise, timed out, it uncounts itself
 * (UNCHOSEN - 1, CT_ETIMEDOUT); otherwise (its chosen slot went to another
 * eligible waiter) it notes e = SEQ and sleeps again, still UNCHOSEN.
 * Exactly k waiters return CT_OK for a notify of k: every thread asleep in
 * the kernel when notify wakes registered before it (registering needs the
 * lock notify holds), so each of them is eligible; the eligible waiters not
 * yet asleep see SEQ changed; every eligible waiter re-checks and claims
 * while CHOSEN > 0, and a claim needs eligibility, so CHOSEN reaches 0.
 *
 * ThreadSanitizer: a wait releases every level of an RLock with TSan's
 * recursive-unlock flag and restores them with recursive-lock (see
 * src/rlock.c), so TSan sees the waiter really give the lock up; the
 * hand-off to the notifier is visible through the lock, not through the
 * node word.
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>
#include <limits.h>
#include <string.h>

#include "cthreading/cond.h"
#include "internal/atomic.h"
#include "internal/lock.h"
#include "internal/platform.h"
#include "internal/rlock.h"
#include "internal/shm.h"
#include "internal/spin.h"
#include "platform/os.h"
#include "wait/wait.h"

enum { WAITING = 0, SLEEPING = 1, NOTIFIED = 2 };

#define LOCK_TAG ((uintptr_t)1)

/* Adaptive spin before parking: this thread's budget for Condition waits, in
 * PAUSE rounds (~21 ns each on the benchmark VM; the reasons and the shared
 * rules are in internal/spin.h).  A notification that arrives during the
 * spin doubles the budget; a waiter that had to sleep halves it.  The
 * maximum, 512 (~11 µs), stays below one sleeping hand-off (~20 µs per
 * direction there); the minimum, 16, keeps a little spinning so the budget
 * can grow back (below it spinning turns off until a probe succeeds,
 * internal/spin.h); a thread starts at 128. */
#define SPIN_BOUNDS ((struct ct__spin_bounds){ 16u, 512u })
#define SPIN_START 128u

CT__SPIN_POLICY(spin_policy, SPIN_START);

/* The first wait after this thread's notify had to wake a sleeping waiter
 * spins on its own "rebound" budget (internal/spin.h explains the convoy it
 * breaks; measured here: ping-pong 10-13 µs a round trip with ~1.5 sleeps
 * inside the convoy, ~2 µs and ~0.1 sleeps outside). */
#define REBOUND_BOUNDS CT__SPIN_REBOUND
CT__SPIN_POLICY(rebound_policy, 1024u);
static _Thread_local bool woke_sleeper;

/* Re-acquiring the bound Lock after a notification (reacquire_lock): rounds
 * of REACQUIRE_PAUSES PAUSEs (~0.1 µs) each, 4 (~0.4 µs) to 64 (~6 µs); a
 * thread starts at 32.  The notifier usually lets go within 1 µs when it
 * runs; the maximum stays well below a sleeping hand-off. */
#define REACQUIRE_PAUSES 4
#define REACQUIRE_BOUNDS ((struct ct__spin_bounds){ 4u, 64u })
CT__SPIN_POLICY(reacquire_policy, 32u);

struct waiter {
    struct waiter *next, *prev;
    uint32_t state;
};

/* ---- the bound lock ------------------------------------------------------------- */

static inline bool bound_is_lock(const ct_cond_t *c) { return (c->lock & LOCK_TAG) != 0; }

static inline ct_lock_t *bound_lock(const ct_cond_t *c)
{
    return (ct_lock_t *)((uintptr_t)c + (c->lock & ~LOCK_TAG));
}

static inline ct_rlock_t *bound_rlock(const ct_cond_t *c)
{
    return c->lock == 0 ? (ct_rlock_t *)&c->u.own : (ct_rlock_t *)((uintptr_t)c + c->lock);
}

static bool held(const ct_cond_t *c)
{
    return bound_is_lock(c) ? ct_lock_locked(bound_lock(c))
                            : ct_rlock_is_owned(bound_rlock(c));
}

/* Releases the lock completely; returns what restore needs. */
static uint32_t release_save(ct_cond_t *c)
{
    if (bound_is_lock(c)) {
        (void)ct_lock_release(bound_lock(c));
        return 1;
    }
    return ct__rlock_release_save(bound_rlock(c));
}

/* Returns CT_OK, or CT_EOWNERDEAD (see ct__rlock_acquire_restore). */
static int acquire_restore(ct_cond_t *c, uint32_t saved)
{
    if (bound_is_lock(c)) {
        ct_lock_acquire(bound_lock(c));
        return CT_OK;
    }
    return ct__rlock_acquire_restore(bound_rlock(c), saved);
}

/* Re-takes a bound Lock after a notification.  The notifier called notify
 * with the lock held and is expected to let go of it within a short
 * critical section (typically: release, or re-acquire and enter its own
 * wait); Lock's own spin is short (and, when it was written, stopped once
 * anyone slept on the lock), so a notified waiter that simply called
 * ct_lock_acquire often went to sleep on the lock right after its
 * notification and paid a second futex hand-off (measured under load: ~1.3
 * lock sleeps per Condition ping-pong round trip).  So spin here first, on loads spaced
 * REACQUIRE_PAUSES apart (every look pulls the cache line away from the
 * holder), with this thread's own adaptive budget.  A free lock that
 * try_acquire still cannot take has sleepers or a wake in flight: stop
 * spinning and queue up in ct_lock_acquire, which handles them.
 * A waiter that slept (`slept`) and, woken, finds the lock still held does
 * not spin at all, here or in the Lock: its wake-up came a whole wake
 * latency after the notify, so a notifier running on another CPU has
 * usually let go by then, and one that has not was most likely preempted
 * by that wake-up on this CPU.  Spinning there cost ~10 µs per hand-off
 * (cthreading-bench --matrix=handoff --only=Condition: the one-CPU
 * Condition round trip was 2.3-2.7x pthread's). */
static void reacquire_lock(ct_lock_t *l, bool slept)
{
    unsigned budget;

    if (slept) {
        if (!ct_lock_try_acquire(l))
            ct__lock_acquire_queued(l);
        return;
    }
    budget = ct__spin_rounds(&reacquire_policy, REACQUIRE_BOUNDS);
    for (unsigned i = 0; i < budget; i++) {
        if (!ct_lock_locked(l)) {
            if (ct_lock_try_acquire(l)) {
                ct__spin_won(&reacquire_policy, REACQUIRE_BOUNDS);
                return;
            }
            break;
        }
        for (int j = 0; j < REACQUIRE_PAUSES; j++)
            ct__cpu_relax();
    }
    ct__spin_slept(&reacquire_policy, REACQUIRE_BOUNDS);
    ct_lock_acquire(l);
}

/* After a notification: like acquire_restore, but a bound Lock is re-taken
 * through reacquire_lock. */
static void notified_restore(ct_cond_t *c, uint32_t saved, bool slept)
{
    if (bound_is_lock(c))
        reacquire_lock(bound_lock(c), slept);
    else
        (void)ct__rlock_acquire_restore(bound_rlock(c), saved); /* in-process: CT_OK */
}

/* ---- the waiter queue (caller holds the queue lock) ------------------------------ */

static inline void guard_take(ct_cond_t *c)
{
    if (bound_is_lock(c))
        ct_lock_acquire(&c->u.guard);
}

static inline void guard_drop(ct_cond_t *c)
{
    if (bound_is_lock(c))
        (void)ct_lock_release(&c->u.guard);
}

/* The head is read without the guard by notify's "nobody waits" check, so it
 * is accessed atomically (relaxed: the queue lock orders it otherwise). */
static inline struct waiter *head(ct_cond_t *c)
{
    return ct__load_relaxed(CT__APTR(&c->q.waiters));
}

static inline void set_head(ct_cond_t *c, struct waiter *w)
{
    ct__store_relaxed(CT__APTR(&c->q.waiters), (void *)w);
}

static void enqueue(ct_cond_t *c, struct waiter *w)
{
    struct waiter *h = head(c);
    if (h == NULL) {
        w->next = w->prev = w;
        set_head(c, w);
    } else {
        w->next = h;
        w->prev = h->prev;
        h->prev->next = w;
        h->prev = w;
    }
}

static void unlink_waiter(ct_cond_t *c, struct waiter *w)
{
    if (w->next == w) {
        set_head(c, NULL);
    } else {
        w->prev->next = w->next;
        w->next->prev = w->prev;
        if (head(c) == w)
            set_head(c, w->next);
    }
}

/* ---- waiting ----------------------------------------------------------------------- */

/* Spins, then sleeps on the node word until NOTIFIED or the deadline.
 * Returns CT_OK if notified, CT_ETIMEDOUT otherwise (the node may still be
 * queued then); *slept tells whether it went to sleep. */
static int park(struct waiter *w, int64_t deadline, bool *slept)
{
    _Atomic uint32_t *s = CT__A32(&w->state);
    bool rebound = woke_sleeper;
    struct ct__spin *policy = rebound ? &rebound_policy : &spin_policy;
    struct ct__spin_bounds bounds = rebound ? REBOUND_BOUNDS : SPIN_BOUNDS;
    unsigned budget = 0;                   /* a zero timeout does not spin */
    uint32_t expected = WAITING;

    woke_sleeper = false;
    *slept = false;
    if (deadline == CT__NO_DEADLINE || !ct__deadline_passed(deadline))
        budget = ct__spin_rounds(policy, bounds);
    for (unsigned i = 0; i < budget; i++) {
        if (ct__load_acquire(s) == NOTIFIED) {
            ct__spin_won(policy, bounds);
            return CT_OK;
        }
        ct__cpu_relax();
    }
    /* Yield polls (internal/spin.h). */
    for (unsigned y = 0; y < CT__SPIN_YIELDS && !ct__deadline_passed(deadline); y++) {
        ct__os_yield();
        if (ct__load_acquire(s) == NOTIFIED) {
            if (budget > 0)
                ct__spin_slept(policy, bounds);       /* the PAUSE spin did not do it */
            return CT_OK;
        }
    }
    if (!atomic_compare_exchange_strong_explicit(s, &expected, SLEEPING,
                                                 memory_order_acquire,
                                                 memory_order_acquire))
        return CT_OK;                      /* NOTIFIED just now */
    if (budget > 0)
        ct__spin_slept(policy, bounds);
    *slept = true;
    for (;;) {
        int rc = ct__wait_until(&w->state, SLEEPING, deadline);
        if (ct__load_acquire(s) == NOTIFIED)
            return CT_OK;
        if (rc == CT_ETIMEDOUT)
            return CT_ETIMEDOUT;
    }
}

/* ---- the shared queue (a condition inside a region) ------------------------------ */

/* A waiter on the shared queue looks at SEQ, one PAUSE apart, before it
 * sleeps: a notifier in another process running on another CPU usually
 * answers within a few µs (cthreading-bench --filter=shm, row
 * shm_handoff_cond, "split").  The spin is this thread's own adaptive
 * budget (Semaphore's bounds and rule, internal/spin.h): with both
 * processes on one CPU the notifier cannot run while the waiter spins, and
 * a fixed spin of 200 rounds there cost 4-30 µs per wait (the "same" cell
 * of that row, 1.8x the pshared pthread twin); the adaptive budget turns
 * off there and probes back on. */
CT__SPIN_POLICY(shared_policy, CT_SPIN_HANDOFF_MAX);

#define UNCHOSEN_ONE  1u
#define UNCHOSEN_MASK 0xffffu
#define CHOSEN_ONE    (1u << 16)

static inline _Atomic uint32_t *seq_word(ct_cond_t *c) { return CT__A32(&c->q.words[0]); }
static inline _Atomic uint32_t *count_word(ct_cond_t *c) { return CT__A32(&c->q.words[1]); }

CT__NOINLINE static int shared_wait(ct_cond_t *c, int64_t deadline)
{
    _Atomic uint32_t *seq = seq_word(c), *counts = count_word(c);
    uint32_t e, saved;
    int rc, restored = CT_OK;

    if ((ct__load_relaxed(counts) & UNCHOSEN_MASK) == UNCHOSEN_MASK)
        return CT_EAGAIN;
    e = ct__load_relaxed(seq);
    atomic_fetch_add_explicit(counts, UNCHOSEN_ONE, memory_order_relaxed);
    for (;;) {
        unsigned budget = ct__spin_rounds(&shared_policy, CT__SPIN_HANDOFF), i;
        bool slept = false;

        saved = release_save(c);
        rc = CT_OK;
        for (i = 0; i < budget && ct__load_acquire(seq) == e; i++)
            ct__cpu_relax();
        if (i < budget)
            ct__spin_won_after(&shared_policy, i, CT__SPIN_HANDOFF);
        else if (budget > 0)
            ct__spin_slept(&shared_policy, CT__SPIN_HANDOFF);
        /* Yield polls (internal/spin.h). */
        for (unsigned y = 0;
             y < CT__SPIN_YIELDS && ct__load_acquire(seq) == e && !ct__deadline_passed(deadline); y++)
            ct__os_yield();
        while (ct__load_acquire(seq) == e && rc == CT_OK) {
            slept = true;
            rc = ct__wait_until(&c->q.words[0], e, deadline);
        }
        /* A bound Lock is re-taken as after an in-process notification: a
         * waiter that slept does not spin on it (reacquire_lock). */
        if (bound_is_lock(c))
            reacquire_lock(bound_lock(c), slept);
        else if (acquire_restore(c, saved) == CT_EOWNERDEAD)
            restored = CT_EOWNERDEAD;      /* reported once we return */
        if (ct__load_relaxed(seq) != e && (ct__load_relaxed(counts) >> 16) > 0) {
            atomic_fetch_sub_explicit(counts, CHOSEN_ONE, memory_order_relaxed);
            rc = CT_OK;
            break;
        }
        if (rc == CT_ETIMEDOUT || (deadline != CT__NO_DEADLINE && ct__deadline_passed(deadline))) {
            atomic_fetch_sub_explicit(counts, UNCHOSEN_ONE, memory_order_relaxed);
            rc = CT_ETIMEDOUT;
            break;
        }
        e = ct__load_relaxed(seq);      /* our notification went to another */
    }
    return restored != CT_OK ? restored : rc;
}

static int shared_notify(ct_cond_t *c, unsigned n)
{
    _Atomic uint32_t *counts = count_word(c);
    uint32_t unchosen = ct__load_relaxed(counts) & UNCHOSEN_MASK;
    uint32_t k = n < unchosen ? n : unchosen;

    if (k == 0)
        return 0;
    atomic_fetch_add_explicit(counts, k * CHOSEN_ONE - k * UNCHOSEN_ONE, memory_order_relaxed);
    atomic_fetch_add_explicit(seq_word(c), 1u, memory_order_release);
    if (k == 1)
        ct_wake_one(&c->q.words[0]);
    else
        ct_wake_all(&c->q.words[0]);
    return (int)k;
}

/* The body of every wait: the caller has validated the timeout. */
static int wait_until(ct_cond_t *c, int64_t deadline)
{
    struct waiter w;
    uint32_t saved;
    bool slept;
    int rc;

    if (!held(c))
        return CT_EPERM;
    if (CT__UNLIKELY(ct__shm_contains(c)))
        return shared_wait(c, deadline);
    w.state = WAITING;
    guard_take(c);
    enqueue(c, &w);
    guard_drop(c);
    saved = release_save(c);
    rc = park(&w, deadline, &slept);
    if (rc == CT_OK)
        notified_restore(c, saved, slept);
    else
        (void)acquire_restore(c, saved);  /* in-process: CT_OK */
    if (rc != CT_OK) {
        /* Timed out: decide under the queue lock whether a notifier took the
         * node meanwhile (then the notification is ours) or not. */
        guard_take(c);
        if (ct__load_relaxed(CT__A32(&w.state)) == NOTIFIED)
            rc = CT_OK;
        else
            unlink_waiter(c, &w);
        guard_drop(c);
    }
    return rc;
}

/* ---- public API -------------------------------------------------------------------- */

void ct_cond_init(ct_cond_t *c, ct_lock_t *lock)
{
    assert(c != NULL);
    memset(c, 0, sizeof *c);
    if (lock != NULL)
        c->lock = ((uintptr_t)lock - (uintptr_t)c) | LOCK_TAG;
}

void ct_cond_init_rlock(ct_cond_t *c, ct_rlock_t *rlock)
{
    assert(c != NULL);
    memset(c, 0, sizeof *c);
    if (rlock != NULL)
        c->lock = (uintptr_t)rlock - (uintptr_t)c;
}

int ct_cond_acquire(ct_cond_t *c)
{
    assert(c != NULL);
    if (bound_is_lock(c)) {
        ct_lock_acquire(bound_lock(c));
        return CT_OK;
    }
    return ct_rlock_acquire(bound_rlock(c));
}

bool ct_cond_try_acquire(ct_cond_t *c)
{
    assert(c != NULL);
    return bound_is_lock(c) ? ct_lock_try_acquire(bound_lock(c))
                            : ct_rlock_try_acquire(bound_rlock(c));
}

int ct_cond_acquire_timed(ct_cond_t *c, int64_t timeout_ns)
{
    assert(c != NULL);
    return bound_is_lock(c) ? ct_lock_acquire_timed(bound_lock(c), timeout_ns)
                            : ct_rlock_acquire_timed(bound_rlock(c), timeout_ns);
}

int ct_cond_release(ct_cond_t *c)
{
    assert(c != NULL);
    return bound_is_lock(c) ? ct_lock_release(bound_lock(c))
                            : ct_rlock_release(bound_rlock(c));
}

bool ct_cond_is_owned(const ct_cond_t *c)
{
    assert(c != NULL);
    return held(c);
}

int ct_cond_wait(ct_cond_t *c)
{
    assert(c != NULL);
    return wait_until(c, CT__NO_DEADLINE);
}

int ct_cond_wait_timed(ct_cond_t *c, int64_t timeout_ns)
{
    int64_t deadline;
    int rc;

    assert(c != NULL);
    if ((rc = ct__deadline_after(timeout_ns, &deadline)) != CT_OK)
        return rc;
    return wait_until(c, deadline);
}

int ct_cond_wait_for(ct_cond_t *c, bool (*pred)(void *arg), void *arg, int64_t timeout_ns)
{
    int64_t deadline;
    int rc;

    assert(c != NULL && pred != NULL);
    if ((rc = ct__deadline_after(timeout_ns, &deadline)) != CT_OK)
        return rc;
    if (!held(c))
        return CT_EPERM;
    while (!pred(arg)) {
        if (wait_until(c, deadline) == CT_ETIMEDOUT)
            return pred(arg) ? CT_OK : CT_ETIMEDOUT;
    }
    return CT_OK;
}

int ct_cond_notify(ct_cond_t *c, unsigned n)
{
    struct waiter *w;
    int woken = 0;

    assert(c != NULL);
    if (!held(c))
        return CT_EPERM;
    if (CT__UNLIKELY(ct__shm_contains(c)))
        return shared_notify(c, n);
    if (n == 0 || head(c) == NULL)
        return 0;
    guard_take(c);
    while ((unsigned)woken < n && woken < INT_MAX && (w = head(c)) != NULL) {
        unlink_waiter(c, w);
        /* Last touch of the node's memory: its waiter may return now. */
        if (atomic_exchange_explicit(CT__A32(&w->state), NOTIFIED,
                                     memory_order_release) == SLEEPING) {
            ct_wake_one(&w->state);
            woke_sleeper = true;
        }
        woken++;
    }
    guard_drop(c);
    return woken;
}

int ct_cond_notify_all(ct_cond_t *c)
{
    return ct_cond_notify(c, UINT_MAX);
}
