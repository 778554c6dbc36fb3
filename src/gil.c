/* GIL: CPython's interpreter lock (Python/ceval_gil.c), plus a priority mode.
 *
 * State word (struct ct__gil.state), two bits (CT__GIL_LOCKED and
 * CT__GIL_QUEUED in internal/gil.h; short names here):
 *   LOCKED  1  some thread holds the GIL
 *   QUEUED  2  the waiter queue is non-empty (only changed under queue_lock)
 *
 * Transitions:
 *   take fast:     CAS 0 -> LOCKED (acquire).  Only possible while nobody is
 *                  queued, so a fast taker never jumps a queue.
 *   take slow:     under queue_lock: when LOCKED is clear and the waiter may
 *                  take (see may_take), CAS s -> LOCKED | (others queued ?
 *                  QUEUED : 0) (acquire); otherwise enqueue a node, set QUEUED
 *                  (acq_rel RMW, so a release that still saw no QUEUED has
 *                  either freed the GIL, which the re-check sees, or must take
 *                  its slow path), and park on the node's own word.
 *   release fast:  CAS LOCKED -> 0 (release): nobody queued.
 *   release slow:  under queue_lock: store QUEUED (release), pick one waiter
 *                  (PRIORITY mode: the first priority waiter, else the oldest)
 *                  and signal its node.
 *   QUEUED is set by an enqueuing waiter and cleared by the taker that empties
 *   the queue; while it is set both fast paths fail, so the word only changes
 *   under queue_lock.
 *
 * Waiter node (on the waiter's stack, linked in the queue under queue_lock):
 *   word  WAITING 0 -> SIGNALLED 1 (by a release, XCHG under queue_lock)
 *         WAITING 0 -> PARKED 2    (by the waiter before it sleeps, CAS)
 *   A release that finds PARKED wakes the word; one that finds WAITING (the
 *   waiter still spins) makes no system call.  The waiter resets its word to
 *   WAITING under queue_lock before each wait, and the release writes it and
 *   wakes it under queue_lock too, so the node is alive during the wake (its
 *   owner must take queue_lock to leave) and no signal is lost: the waiter's
 *   CAS WAITING -> PARKED fails if the signal came first, and the wait layer
 *   compares the word with PARKED atomically with going to sleep.
 *   A signalled waiter is not handed the GIL: it re-checks under queue_lock
 *   and may find that another thread took it first (CPython's condition
 *   variable behaves the same way); the taker's own release signals again.
 *         PARKED 2 -> WAITING 0    (PRIORITY mode, "nudge": by a holder that
 *                                   keeps the GIL, CAS + wake under
 *                                   queue_lock; at most once per take_slow
 *                                   call, marked in the node's `nudged`,
 *                                   and only if it parked less than
 *                                   NUDGE_WINDOW_NS ago)
 *   A nudged waiter wakes as from a spurious wake: it re-checks under
 *   queue_lock, finds the GIL held and asks for the drop again (DROP_NOW).
 *
 * drop_request (CPython's gil_drop_request, the eval-breaker word):
 *   DROP_NONE 0, DROP_NOW 1 (hand over at the next poll), DROP_WAKING 2
 *   (PRIORITY mode only: the holder nudged the waiter it would serve, which
 *   was asleep; polls pass over it until the waiter, awake, sets DROP_NOW).
 * Set to DROP_NOW under queue_lock by a waiter that has waited one switch
 * interval while the GIL stayed with the same holder (takes unchanged) — or
 * at once, in PRIORITY mode, by a waiter coming back from a blocking section;
 * set to DROP_WAKING by a nudging holder under queue_lock; cleared by the next
 * slow-path taker (as take_gil does) or under queue_lock by a holder that
 * finds nobody queued.  ct_gil_poll reads it relaxed: it is a hint, the
 * hand-over itself goes through the state word and queue_lock.  A nudged
 * waiter that cannot re-ask (it takes the GIL, freed meanwhile) leaves no
 * stale DROP_WAKING behind: the taker clears the word.
 *
 * PRIORITY mode, the holder's side of a hand-over (priority_hand_over): under
 * one queue_lock section it frees the GIL (release slow) and signals the
 * waiter, then waits for the GIL to come back unqueued (take_back): it spins
 * until `takes` moved and the word is 0, and takes it with the fast-path CAS
 * — the returning thread, alone in the queue, took it as LOCKED without
 * QUEUED and freed it with the fast-path CAS.  Nothing new on the state word:
 * a fast take is allowed whenever nothing is queued.  If others queue, or the
 * spin runs out, the holder queues as a preempted waiter (take_slow).
 *
 * Forced switching: a holder that honours a drop request remembers `takes`
 * (CPython's switch_number) and may not take the GIL back while it is
 * unchanged and another waiter is queued; it queues as a preempted waiter.
 *
 * Memory orders: the CAS / store that frees the GIL is release and the CAS
 * that takes it is acquire: that is the edge between successive holders.
 * holder, takes, last_holder and the statistics are written only by the
 * current holder (wait times and drop_requests also under queue_lock);
 * they are relaxed atomics because other threads read them (ct_gil_held,
 * ct_gil_stats, waiters comparing `takes` under queue_lock).
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cthreading/gil.h"
#include "cthreading/thread.h"
#include "internal/shm.h"
#include "internal/atomic.h"
#include "internal/clock.h"
#include "internal/fatal.h"
#include "internal/fork.h"
#include "internal/gil.h"
#include "internal/once.h"
#include "internal/platform.h"
#include "internal/tsan.h"
#include "platform/os.h"
#include "wait/wait.h"

enum { WAITING = 0u, SIGNALLED = 1u, PARKED = 2u };
enum { DROP_NONE = 0u, DROP_NOW = 1u, DROP_WAKING = 2u };   /* drop_request */

/* A waiter spins on its node this long before it parks.  On the 2-core VM of
 * our benchmarks a futex wake-to-run costs ~20 µs per direction, while the
 * hand-overs that matter are short: a preempted CPU-bound thread gets the GIL
 * back as soon as an I/O-bound thread has done its few µs of work, and a
 * returning I/O thread gets it within one poll period of the holder.  30 µs
 * covers both in the convoy benchmark and costs < 1% of a 5 ms interval when
 * the spin is wasted (the holder is CPU-bound). */
#define SPIN_NS CT_US(30)

/* PRIORITY mode: a returning thread waiting for a held GIL spins this long
 * before it parks.  It waits for the holder's next ct_gil_poll, and a parked
 * returner costs a wake-to-run (~20 µs here) on top of that; 100 µs covers a
 * holder that polls every ~50 µs (the "poll every 50 us" rows of
 * bench/bench_gil.c).  A holder that polls less often than this lets the
 * returner park, and then wakes it before it drops (DROP_WAKING, below). */
#define PRIORITY_SPIN_NS CT_US(100)

/* PRIORITY mode: a holder nudges a sleeping returner (wakes it and keeps the
 * GIL, DROP_WAKING) only if it parked at most this long ago; one asleep for
 * longer is handed the GIL at once.  The nudge saves the holder the
 * returner's wake-to-run but costs the returner one more poll period, and a
 * returner parks only after PRIORITY_SPIN_NS of asking: a poll that finds
 * it parked NUDGE_WINDOW_NS or longer means a poll period of at least
 * PRIORITY_SPIN_NS + NUDGE_WINDOW_NS = 150 µs, long enough that the wake
 * (~10 µs here) costs the holder little, and a nudge would double the
 * returner's wait (bench/bench_gil.c, "poll every 120/200/500 us": with
 * the nudge always, I/O p50 ~2 periods; without it ~1 period and CPU rate
 * 0.87-0.90 at 120 µs). */
#define NUDGE_WINDOW_NS CT_US(50)

struct waiter {
    uint32_t word;               /* WAITING / SIGNALLED / PARKED */
    bool priority;               /* PRIORITY mode: served before the others */
    bool forced;                 /* dropped on request: forced switching */
    bool nudged;                 /* PRIORITY: woken by the holder, which kept the GIL */
    int64_t parked_at;           /* atomic: ct__now_ns() when it last parked */
    uint64_t dropped_at;         /* `takes` when it dropped (if forced) */
    struct waiter *prev, *next;
};

/* Per (thread, GIL) state, created by the thread's first ct_gil_ensure on the
 * GIL.  A thread's states form a list headed by my_states (also stored in the
 * OS slot, whose destructor frees them at thread exit); each GIL lists its
 * states under registry_lock so ct_gil_destroy can detach them. */
struct gil_tstate {
    struct gil_tstate *thread_next;      /* owner thread only */
    struct gil_tstate *gil_prev, *gil_next; /* registry_lock */
    void *gil;                           /* atomic; NULL once detached */
    uint32_t depth;                      /* open ct_gil_ensure calls */
};

static _Thread_local struct gil_tstate *my_states;
static ct__os_tls_t tstate_slot;
static ct_once_t slot_once = CT_ONCE_INIT; /* tstate_slot; run under registry_lock (fork) */
static ct_lock_t registry_lock;          /* registry list, tstate lists, slot_once */
static struct ct__gil *registry_head;

/* ---- small accessors ---------------------------------------------------------- */

static inline _Atomic uint32_t *state_word(struct ct__gil *g) { return CT__A32(&g->state); }

static inline uint64_t load64(const uint64_t *p) { return ct__load_relaxed(CT__A64(p)); }
static inline void store64(uint64_t *p, uint64_t v) { ct__store_relaxed(CT__A64(p), v); }
/* Single-writer counter (the writer is serialised by the GIL or queue_lock). */
static inline void bump64(uint64_t *p, uint64_t by) { store64(p, load64(p) + by); }

static inline bool holds(const struct ct__gil *g, uint64_t me) { return load64(&g->holder) == me; }

static inline int64_t interval_of(const struct ct__gil *g)
{
    return (int64_t)load64((const uint64_t *)&g->interval_ns);
}

/* ---- the waiter queue (queue_lock held) ---------------------------------------- */

static void enqueue(struct ct__gil *g, struct waiter *w)
{
    struct waiter *tail = g->queue_tail;
    w->prev = tail;
    w->next = NULL;
    if (tail)
        tail->next = w;
    else
        g->queue_head = w;
    g->queue_tail = w;
}

static void dequeue(struct ct__gil *g, struct waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        g->queue_head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        g->queue_tail = w->prev;
}

static struct waiter *first_priority(const struct ct__gil *g, const struct waiter *skip)
{
    for (struct waiter *w = g->queue_head; w; w = w->next)
        if (w->priority && w != skip)
            return w;
    return NULL;
}

/* The waiter a release wakes: in PRIORITY mode the oldest priority waiter,
 * otherwise the oldest.  It is always allowed to take (may_take): a forced
 * dropper is ineligible only until someone else took the GIL, and whoever is
 * releasing did. */
static struct waiter *next_to_wake(const struct ct__gil *g)
{
    struct waiter *w = NULL;
    if (g->mode == CT_GIL_PRIORITY)
        w = first_priority(g, NULL);
    return w ? w : g->queue_head;
}

static void signal_waiter(struct waiter *w)
{
    if (atomic_exchange_explicit(CT__A32(&w->word), SIGNALLED, memory_order_release) == PARKED)
        ct_wake_one(&w->word);
}

/* May waiter `self` take the free GIL now?  (queue_lock held; self may or may
 * not be queued.) */
static bool may_take(const struct ct__gil *g, const struct waiter *self)
{
    const struct waiter *head = g->queue_head;
    bool others = head != NULL && !(head == self && self->next == NULL);

    if (self->forced && load64(&g->takes) == self->dropped_at && others)
        return false;                    /* forced switching */
    if (g->mode == CT_GIL_PRIORITY && !self->priority && first_priority(g, self))
        return false;                    /* returning threads first */
    return true;
}

static void request_drop(struct ct__gil *g)
{
    if (atomic_exchange_explicit(CT__A32(&g->drop_request), 1, memory_order_release) == 0)
        bump64(&g->stat_drop_requests, 1);
}

/* ---- taking and dropping -------------------------------------------------------- */

/* Bookkeeping of a new holder (runs holding the GIL). */
static inline void became_holder(struct ct__gil *g, uint64_t me)
{
    store64(&g->holder, me);
    store64(&g->takes, load64(&g->takes) + 1);
    if (g->last_holder != me) {
        g->last_holder = me;
        bump64(&g->stat_switches, 1);
    }
}

/* Spins on the node for a while, then parks until it is signalled, the
 * deadline passes, or a spurious wake; the caller re-checks under queue_lock. */
static void await_signal(struct waiter *w, int64_t deadline, int64_t spin_ns)
{
    _Atomic uint32_t *word = CT__A32(&w->word);
    int64_t spin_end = ct__now_ns() + spin_ns, now = spin_end;
    uint32_t expected = WAITING;

    if (spin_end > deadline)
        spin_end = deadline;
    for (unsigned i = 1;; i++) {
        if (ct__load_relaxed(word) != WAITING)
            return;
        ct__cpu_relax();
        if (i % 32 == 0 && (now = ct__now_ns()) >= spin_end)
            break;
    }
    /* Read by a holder deciding on a nudge, under queue_lock, once it sees
     * PARKED (the CAS below is release, the holder's load acquire); only
     * this thread writes it, and only while the word is WAITING. */
    ct__store_relaxed(CT__A64((uint64_t *)&w->parked_at), (uint64_t)now);
    if (!atomic_compare_exchange_strong_explicit(word, &expected, PARKED,
                                                 memory_order_release, memory_order_relaxed))
        return;                          /* signalled meanwhile */
    (void)ct__wait_until(&w->word, PARKED, deadline);
}

/* Slow path of every take: the GIL was held or somebody was queued.
 * returning: the caller comes back from a blocking section (PRIORITY mode
 * serves it first).  forced / dropped_at: the caller just honoured a drop
 * request at take count dropped_at. */
CT__NOINLINE static void take_slow(struct ct__gil *g, uint64_t me, bool returning, bool forced,
                                   uint64_t dropped_at)
{
    _Atomic uint32_t *sw = state_word(g);
    struct waiter self = { .priority = returning, .forced = forced, .dropped_at = dropped_at };
    bool queued = false;
    int64_t start = ct__now_ns(), interval_start = start;
    /* A forced dropper counts its interval from its successor's take. */
    uint64_t seen_takes;

    ct_lock_acquire(&g->queue_lock);
    seen_takes = forced ? dropped_at + 1 : load64(&g->takes);
    for (;;) {
        uint32_t s = ct__load_relaxed(sw);
        if (!(s & CT__GIL_LOCKED) && may_take(g, &self)) {
            const struct waiter *head = g->queue_head;
            bool others = head != NULL && !(queued && head == &self && self.next == NULL);
            uint32_t want = CT__GIL_LOCKED | (others ? CT__GIL_QUEUED : 0);
            /* Fails only when nothing is queued and a fast taker won. */
            if (atomic_compare_exchange_strong_explicit(sw, &s, want, memory_order_acquire,
                                                        memory_order_relaxed))
                break;
            continue;
        }
        if (!queued) {
            enqueue(g, &self);
            queued = true;
            (void)atomic_fetch_or_explicit(sw, CT__GIL_QUEUED, memory_order_acq_rel);
            continue;                    /* re-check: it may have been freed */
        }
        {
            int64_t now = ct__now_ns(), interval = interval_of(g), deadline;
            uint64_t takes = load64(&g->takes);
            /* A switch happened: restart the interval.  (A forced dropper
             * already counts from its successor's take, which may not have
             * happened yet.) */
            if (takes != seen_takes && !(forced && takes == dropped_at)) {
                seen_takes = takes;
                interval_start = now;
            }
            if (s & CT__GIL_LOCKED) {
                if (g->mode == CT_GIL_PRIORITY && self.priority) {
                    request_drop(g);
                } else if (now - interval_start >= interval) {
                    request_drop(g);
                    self.priority = true; /* PRIORITY: waited long enough, join them */
                }
            }
            /* Time the next wait from now once an interval has run out (a
             * request was just made, or the GIL is free and a signalled
             * thread is about to take it), never with a past deadline. */
            if (now - interval_start >= interval)
                interval_start = now;
            deadline = ct__deadline_from(interval_start, interval);
            ct__store_relaxed(CT__A32(&self.word), WAITING);
            ct_lock_release(&g->queue_lock);
            await_signal(&self, deadline,
                         g->mode == CT_GIL_PRIORITY && self.priority && (s & CT__GIL_LOCKED)
                             ? PRIORITY_SPIN_NS
                             : SPIN_NS);
            ct_lock_acquire(&g->queue_lock);
        }
    }
    /* We hold the GIL. */
    if (queued)
        dequeue(g, &self);
    became_holder(g, me);
    {
        uint64_t waited = (uint64_t)(ct__now_ns() - start);
        bump64(&g->stat_wait_total_ns, waited);
        if (waited > load64(&g->stat_wait_max_ns))
            store64(&g->stat_wait_max_ns, waited);
    }
    if (ct__load_relaxed(CT__A32(&g->drop_request)))
        ct__store_relaxed(CT__A32(&g->drop_request), 0);
    if (g->mode == CT_GIL_PRIORITY && first_priority(g, NULL))
        request_drop(g);                 /* the next returning thread is waiting */
    ct_lock_release(&g->queue_lock);
}

static inline void take(struct ct__gil *g, uint64_t me, bool returning)
{
    uint32_t expected = 0;
    CT__TSAN_PRE_LOCK(g, 0);
    if (CT__LIKELY(atomic_compare_exchange_strong_explicit(state_word(g), &expected, CT__GIL_LOCKED,
                                                           memory_order_acquire,
                                                           memory_order_relaxed)))
        became_holder(g, me);
    else
        take_slow(g, me, returning, false, 0);
    CT__TSAN_POST_LOCK(g, 0, 1);
}

CT__NOINLINE static void release_slow(struct ct__gil *g)
{
    struct waiter *w;

    ct_lock_acquire(&g->queue_lock);
    w = next_to_wake(g);
    ct__store_release(state_word(g), g->queue_head ? CT__GIL_QUEUED : 0u);
    if (w)
        signal_waiter(w);
    ct_lock_release(&g->queue_lock);
}

/* Frees the GIL held by the caller. */
static inline void drop(struct ct__gil *g)
{
    uint32_t expected = CT__GIL_LOCKED;
    (void)CT__TSAN_PRE_UNLOCK(g, 0);
    store64(&g->holder, 0);
    if (!atomic_compare_exchange_strong_explicit(state_word(g), &expected, 0,
                                                 memory_order_release, memory_order_relaxed))
        release_slow(g);
    CT__TSAN_POST_UNLOCK(g, 0);
}

/* Releases the held GIL to the waiters and takes it back as a preempted
 * thread once another thread had it (forced switching). */
static void hand_over(struct ct__gil *g, uint64_t me)
{
    uint64_t dropped_at = load64(&g->takes);
    drop(g);
    CT__TSAN_PRE_LOCK(g, 0);
    take_slow(g, me, false, true, dropped_at);
    CT__TSAN_POST_LOCK(g, 0, 1);
}

/* ---- public API -------------------------------------------------------------------- */

int ct_gil_acquire(ct_gil_t *handle)
{
    struct ct__gil *g = ct__gil_of(handle);
    uint64_t me;

    assert(g != NULL);
    me = ct_thread_ident();
    if (holds(g, me))
        return CT_EDEADLK;
    take(g, me, true);
    return CT_OK;
}

int ct_gil_release(ct_gil_t *handle)
{
    struct ct__gil *g = ct__gil_of(handle);
    assert(g != NULL);
    if (!holds(g, ct_thread_ident()))
        return CT_EPERM;
    drop(g);
    return CT_OK;
}

bool ct_gil_held(const ct_gil_t *handle)
{
    struct ct__gil *g = ct__gil_of(handle);
    assert(g != NULL);
    return holds(g, ct_thread_ident());
}

/* PRIORITY mode: after freeing the GIL for a priority waiter, the holder
 * waits for it to come back without queueing: it spins (plain loads) until
 * another thread took the GIL and freed it with nobody queued, then takes it
 * with the fast-path CAS, so the returning thread's release is the fast CAS
 * too and neither side takes queue_lock or makes a system call.  A fast take
 * only succeeds while nobody is queued, so it jumps no queue, and it waits
 * for `takes` to move, so forced switching holds.  Gives up after SPIN_NS
 * (the other thread holds the GIL longer, or others queued) and queues as a
 * preempted thread.  Returns with the GIL held. */
static void take_back(struct ct__gil *g, uint64_t me, uint64_t dropped_at)
{
    _Atomic uint32_t *sw = state_word(g);
    int64_t start = ct__now_ns(), spin_end = start + SPIN_NS;

    CT__TSAN_PRE_LOCK(g, 0);
    for (unsigned i = 1;; i++) {
        uint32_t s = ct__load_relaxed(sw);
        if (s == 0 && load64(&g->takes) != dropped_at) {
            if (atomic_compare_exchange_strong_explicit(sw, &s, CT__GIL_LOCKED,
                                                        memory_order_acquire,
                                                        memory_order_relaxed)) {
                uint64_t waited;
                became_holder(g, me);
                waited = (uint64_t)(ct__now_ns() - start);
                bump64(&g->stat_wait_total_ns, waited);
                if (waited > load64(&g->stat_wait_max_ns))
                    store64(&g->stat_wait_max_ns, waited);
                break;
            }
            continue;
        }
        if (s & CT__GIL_QUEUED && load64(&g->takes) != dropped_at) {
            take_slow(g, me, false, true, dropped_at);   /* others queued: join them */
            break;
        }
        ct__cpu_relax();
        if (i % 32 == 0 && ct__now_ns() >= spin_end) {
            take_slow(g, me, false, true, dropped_at);
            break;
        }
    }
    CT__TSAN_POST_LOCK(g, 0, 1);
}

/* PRIORITY mode, a drop request pending: hand the GIL to the first priority
 * waiter (or the oldest waiter) and take it back.  A priority waiter that
 * went to sleep less than NUDGE_WINDOW_NS ago is woken first and the GIL
 * kept: it would take a wake-to-run (~10-20 µs here) to come and take it,
 * all of it lost by the holder; the woken waiter requests the drop again
 * once it spins (drop_request DROP_WAKING until then, which ct_gil_poll
 * passes over).  One asleep for longer is served at once (see
 * NUDGE_WINDOW_NS).  Returns 0 (kept) or 1 (handed over and held again). */
static int priority_hand_over(struct ct__gil *g, uint64_t me)
{
    struct waiter *w;
    uint64_t dropped_at;

    /* ThreadSanitizer: the queue and the nodes are read inside the GIL's
     * unlock annotation, as in release_slow (accesses there are not
     * checked: the waiters write their nodes inside their lock annotation);
     * if the GIL is kept after all, the annotation re-takes it. */
    (void)CT__TSAN_PRE_UNLOCK(g, 0);
    ct_lock_acquire(&g->queue_lock);
    w = next_to_wake(g);
    if (w == NULL) {                     /* stale request */
        ct__store_relaxed(CT__A32(&g->drop_request), DROP_NONE);
        goto keep;
    }
    if (w->priority && !w->nudged && ct__load_acquire(CT__A32(&w->word)) == PARKED &&
        ct__now_ns() - (int64_t)ct__load_relaxed(CT__A64((uint64_t *)&w->parked_at)) <
            NUDGE_WINDOW_NS) {
        /* A PARKED word changes only under queue_lock (signals, nudges):
         * the CAS cannot fail while we hold it. */
        uint32_t parked = PARKED;
        if (atomic_compare_exchange_strong_explicit(CT__A32(&w->word), &parked, WAITING,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed)) {
            w->nudged = true;
            ct__store_relaxed(CT__A32(&g->drop_request), DROP_WAKING);
            ct_wake_one(&w->word);       /* under queue_lock: the node is alive */
            goto keep;
        }
    }
    bump64(&g->stat_forced_drops, 1);
    dropped_at = load64(&g->takes);
    store64(&g->holder, 0);
    ct__store_release(state_word(g), CT__GIL_QUEUED);
    signal_waiter(w);
    ct_lock_release(&g->queue_lock);
    CT__TSAN_POST_UNLOCK(g, 0);
    take_back(g, me, dropped_at);
    return 1;

keep:
    ct_lock_release(&g->queue_lock);
    CT__TSAN_POST_UNLOCK(g, 0);
    CT__TSAN_PRE_LOCK(g, 0);
    CT__TSAN_POST_LOCK(g, 0, 1);
    return 0;
}

CT__NOINLINE static int poll_slow(struct ct__gil *g, uint32_t request)
{
    uint64_t me = ct_thread_ident();

    if (!holds(g, me))
        return CT_EPERM;
    if (!(ct__load_acquire(state_word(g)) & CT__GIL_QUEUED)) {
        /* Nobody queued: the request is stale.  Clear it under queue_lock,
         * where waiters set it, so a fresh request is not lost. */
        ct_lock_acquire(&g->queue_lock);
        if (g->queue_head == NULL)
            ct__store_relaxed(CT__A32(&g->drop_request), 0);
        ct_lock_release(&g->queue_lock);
        return 0;
    }
    if (g->mode == CT_GIL_PRIORITY) {
        if (request == DROP_WAKING)
            return 0;                    /* the woken waiter is on its way */
        return priority_hand_over(g, me);
    }
    bump64(&g->stat_forced_drops, 1);
    hand_over(g, me);
    return 1;
}

int ct_gil_poll(ct_gil_t *handle)
{
    struct ct__gil *g = ct__gil_of(handle);
    uint32_t request;

    assert(g != NULL);
    request = ct__load_relaxed(CT__A32(&g->drop_request));
    if (CT__LIKELY(request == DROP_NONE))
        return 0;
    return poll_slow(g, request);
}

int ct_gil_yield(ct_gil_t *handle)
{
    struct ct__gil *g = ct__gil_of(handle);
    uint64_t me;

    assert(g != NULL);
    me = ct_thread_ident();
    if (!holds(g, me))
        return CT_EPERM;
    if (!(ct__load_relaxed(state_word(g)) & CT__GIL_QUEUED))
        return 0;
    hand_over(g, me);
    return 1;
}

int64_t ct_gil_switch_interval(const ct_gil_t *handle)
{
    struct ct__gil *g = ct__gil_of(handle);
    assert(g != NULL);
    return interval_of(g);
}

int ct_gil_set_switch_interval(ct_gil_t *handle, int64_t interval_ns)
{
    struct ct__gil *g = ct__gil_of(handle);
    assert(g != NULL);
    if (interval_ns <= 0)
        return CT_EINVAL;
    if (interval_ns > CT_TIMEOUT_MAX)
        return CT_EOVERFLOW;
    store64((uint64_t *)&g->interval_ns, (uint64_t)interval_ns);
    return CT_OK;
}

void ct_gil_stats(const ct_gil_t *handle, ct_gil_stats_t *out)
{
    struct ct__gil *g = ct__gil_of(handle);
    assert(g != NULL && out != NULL);
    out->switches = load64(&g->stat_switches);
    out->forced_drops = load64(&g->stat_forced_drops);
    out->drop_requests = load64(&g->stat_drop_requests);
    out->wait_total_ns = load64(&g->stat_wait_total_ns);
    out->wait_max_ns = load64(&g->stat_wait_max_ns);
    out->thread_states = load64(&g->stat_thread_states);
}

/* ---- per-thread states (ct_gil_ensure) ---------------------------------------------- */

static struct ct__gil *tstate_gil(const struct gil_tstate *ts)
{
    return (struct ct__gil *)atomic_load_explicit(CT__APTR(&ts->gil), memory_order_relaxed);
}

/* registry_lock held. */
static void tstate_unlink(struct ct__gil *g, struct gil_tstate *ts)
{
    if (ts->gil_prev)
        ts->gil_prev->gil_next = ts->gil_next;
    else
        g->thread_states = ts->gil_next;
    if (ts->gil_next)
        ts->gil_next->gil_prev = ts->gil_prev;
    bump64(&g->stat_thread_states, (uint64_t)-1);
}

static void tstate_link(struct ct__gil *g, struct gil_tstate *ts)
{
    ts->gil_prev = NULL;
    ts->gil_next = g->thread_states;
    if (ts->gil_next)
        ts->gil_next->gil_prev = ts;
    g->thread_states = ts;
    bump64(&g->stat_thread_states, 1);
}

/* Destructor of the OS slot: runs on an exiting thread that used ensure. */
static void tstates_free(void *head)
{
    struct gil_tstate *ts = head, *next;

    if (!ct__os_tls_is_own(ts, my_states))
        return;                    /* stale, from a fork (platform/os.h) */
    ct_lock_acquire(&registry_lock);
    for (struct gil_tstate *t = ts; t; t = t->thread_next) {
        struct ct__gil *g = tstate_gil(t);
        if (g)
            tstate_unlink(g, t);
    }
    ct_lock_release(&registry_lock);
    for (; ts; ts = next) {
        next = ts->thread_next;
        free(ts);
    }
    my_states = NULL;
}

CT__NOINLINE static struct gil_tstate *tstate_create(struct ct__gil *g)
{
    struct gil_tstate *ts;
    int rc;

    for (ts = my_states; ts; ts = ts->thread_next)   /* reuse a detached one */
        if (tstate_gil(ts) == NULL)
            break;
    if (ts == NULL) {
        ts = calloc(1, sizeof *ts);
        if (ts == NULL)
            ct__fatal("ct_gil_ensure: calloc of the per-thread state", ENOMEM);
        ts->thread_next = my_states;
        if ((rc = ct__os_tls_set(&tstate_slot, ts)) != CT_OK)
            ct__fatal("ct_gil_ensure: storing the per-thread state in its OS slot", rc);
        my_states = ts;
    }
    ts->depth = 0;
    ct_lock_acquire(&registry_lock);
    atomic_store_explicit(CT__APTR(&ts->gil), (void *)g, memory_order_relaxed);
    tstate_link(g, ts);
    ct_lock_release(&registry_lock);
    return ts;
}

static inline struct gil_tstate *tstate_find(const struct ct__gil *g)
{
    for (struct gil_tstate *ts = my_states; ts; ts = ts->thread_next)
        if (tstate_gil(ts) == g)
            return ts;
    return NULL;
}

ct_gil_state_t ct_gil_ensure(ct_gil_t *handle)
{
    struct ct__gil *g = ct__gil_of(handle);
    struct gil_tstate *ts;
    uint64_t me;
    ct_gil_state_t st = CT_GIL_STATE_LOCKED;

    assert(g != NULL);
    ts = tstate_find(g);
    if (CT__UNLIKELY(ts == NULL))
        ts = tstate_create(g);
    me = ct_thread_ident();
    if (!holds(g, me)) {
        take(g, me, true);
        st = CT_GIL_STATE_UNLOCKED;
    }
    ts->depth++;
    return st;
}

int ct_gil_release_state(ct_gil_t *handle, ct_gil_state_t st)
{
    struct ct__gil *g = ct__gil_of(handle);
    struct gil_tstate *ts;

    assert(g != NULL);
    if (st != CT_GIL_STATE_LOCKED && st != CT_GIL_STATE_UNLOCKED)
        return CT_EINVAL;
    ts = tstate_find(g);
    if (ts == NULL || ts->depth == 0 || !holds(g, ct_thread_ident()))
        return CT_EPERM;
    if (st == CT_GIL_STATE_UNLOCKED)
        drop(g);
    ts->depth--;
    return CT_OK;
}

/* ---- init, destroy, fork -------------------------------------------------------------- */

/* prepare (internal/fork.h, order 3): registry_lock, then the queue_lock of
 * every registered GIL in registry order (nothing else takes two of them;
 * ct_gil_destroy takes registry_lock first too).  So no waiter queue, drop
 * request or thread-state list is half-updated in the child.  The GILs
 * themselves are not taken: a fork while another thread holds a GIL is
 * handled in the child (below). */
static void gil_fork_prepare(void)
{
    ct_lock_acquire(&registry_lock);
    for (struct ct__gil *g = registry_head; g; g = g->registry_next)
        ct_lock_acquire(&g->queue_lock);
}

static void gil_fork_parent(void)
{
    for (struct ct__gil *g = registry_head; g; g = g->registry_next)
        ct_lock_release(&g->queue_lock);
    ct_lock_release(&registry_lock);
}

/* In the child of fork() only the forking thread exists: nobody waits, no
 * lock is held by a vanished thread, and a GIL that was held is held by the
 * forking thread (which, as in CPython, is expected to have held it). */
static void gil_fork_child(void)
{
    uint64_t me = ct_thread_ident();

    for (struct ct__gil *g = registry_head; g; g = g->registry_next) {
        bool held = (ct__load_relaxed(state_word(g)) & CT__GIL_LOCKED) != 0;
        bool mine = load64(&g->holder) == me;
        g->queue_head = g->queue_tail = NULL;
        ct__store_relaxed(CT__A32(&g->drop_request), 0);
        ct__store_relaxed(state_word(g), held ? CT__GIL_LOCKED : 0u);
        store64(&g->holder, held ? me : 0);
        if (held)
            g->last_holder = me;
        if (held && !mine) {             /* taken over from a vanished thread */
            CT__TSAN_DESTROY(g);
            CT__TSAN_PRE_LOCK(g, 0);
            CT__TSAN_POST_LOCK(g, 0, 1);
        }
        g->thread_states = NULL;         /* other threads' states are gone */
        store64(&g->stat_thread_states, 0);
    }
    for (struct gil_tstate *ts = my_states; ts; ts = ts->thread_next) {
        struct ct__gil *g = tstate_gil(ts);
        if (g)
            tstate_link(g, ts);
    }
    for (struct ct__gil *g = registry_head; g; g = g->registry_next)
        ct__fork_child_unlock(&g->queue_lock);
    ct__fork_child_unlock(&registry_lock);
}

const struct ct__fork_hooks ct__gil_fork_hooks = {
    gil_fork_prepare, gil_fork_parent, gil_fork_child,
};

/* Creates the OS slot and registers the fork handler: once per process
 * (slot_once, run with registry_lock held, so a fork, whose prepare takes
 * registry_lock, never finds it running).  A failure is retried by the next
 * ct_gil_init. */
static int slot_create(void *unused)
{
    int rc;

    (void)unused;
    if ((rc = ct__os_tls_create(&tstate_slot, tstates_free)) == CT_OK)
        ct__fork_ready();
    return rc;
}

int ct_gil_init(ct_gil_t *handle, int mode)
{
    struct ct__gil *g = ct__gil_of(handle);
    int rc;

    assert(g != NULL);
    if (mode != CT_GIL_CLASSIC && mode != CT_GIL_PRIORITY)
        return CT_EINVAL;
    if (ct__shm_contains(handle))
        return CT_EINVAL;        /* per process: not inside a region (shm.h) */
    ct_lock_acquire(&registry_lock);
    if ((rc = ct__once(&slot_once, slot_create, NULL)) != CT_OK) {
        ct_lock_release(&registry_lock);
        return rc;
    }
    memset(g, 0, sizeof *g);
    g->mode = (uint32_t)mode;
    g->interval_ns = CT_GIL_DEFAULT_INTERVAL;
    CT__TSAN_CREATE(g, 0);
    g->registry_next = registry_head;
    if (registry_head)
        registry_head->registry_prev = g;
    registry_head = g;
    ct_lock_release(&registry_lock);
    return CT_OK;
}

int ct_gil_destroy(ct_gil_t *handle)
{
    struct ct__gil *g = ct__gil_of(handle);
    uint64_t holder;

    assert(g != NULL);
    ct_lock_acquire(&registry_lock);
    if (g->registry_prev == NULL && registry_head != g) {
        ct_lock_release(&registry_lock);
        return CT_EINVAL;                /* not initialised, or destroyed */
    }
    ct_lock_acquire(&g->queue_lock);
    holder = load64(&g->holder);
    if (g->queue_head != NULL || (ct__load_relaxed(state_word(g)) & CT__GIL_QUEUED) ||
        ((ct__load_relaxed(state_word(g)) & CT__GIL_LOCKED) && holder != ct_thread_ident())) {
        ct_lock_release(&g->queue_lock);
        ct_lock_release(&registry_lock);
        return CT_EBUSY;                 /* waited for, or held by another thread */
    }
    for (struct gil_tstate *ts = g->thread_states; ts; ts = ts->gil_next)
        atomic_store_explicit(CT__APTR(&ts->gil), NULL, memory_order_relaxed);
    g->thread_states = NULL;
    if (g->registry_prev)
        g->registry_prev->registry_next = g->registry_next;
    else
        registry_head = g->registry_next;
    if (g->registry_next)
        g->registry_next->registry_prev = g->registry_prev;
    ct_lock_release(&g->queue_lock);
    ct_lock_release(&registry_lock);
    if (ct__load_relaxed(state_word(g)) & CT__GIL_LOCKED) {
        /* Held by the caller (a finalising interpreter): released by the
         * destroy, for ThreadSanitizer too. */
        (void)CT__TSAN_PRE_UNLOCK(g, 0);
        CT__TSAN_POST_UNLOCK(g, 0);
    }
    CT__TSAN_DESTROY(g);
    memset(g, 0, sizeof *g);
    return CT_OK;
}
