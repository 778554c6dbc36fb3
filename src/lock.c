/* Lock: threading.Lock in one 32-bit word.
 *
 * State word (ct_lock_t.state):
 *   bit 0      LOCKED    the lock is held (or, with HANDOFF, being handed over)
 *   bit 1      WAKING    a sleeper has been woken (or registered during a
 *                        wake) and has not yet come back; releases issue no
 *                        further wake meanwhile
 *   bit 2      HANDOFF   LOCKED belongs to the next sleeper that comes back:
 *                        the releasing thread handed the lock over directly
 *                        instead of freeing it (only ever set with WAKING)
 *   bit 3      STARVING  a sleeper has waited longer than STARVE_NS: releases
 *                        hand the lock over instead of freeing it, so
 *                        spinning newcomers cannot barge ahead of sleepers
 *   bits 4-31  SLEEPERS  threads registered as (about to be) asleep on the word
 *
 * Transitions (the tags in brackets are the steps of test/model/lock.pml;
 * test/model/tie.sh checks that both sides name the same steps):
 *   [fast]        atomic OR of LOCKED (acquire): took the lock if LOCKED was
 *                 clear; inline in lock.h.
 *   [spin]        a bounded spin with plain loads, CAS-ing LOCKED in whenever
 *                 it is seen clear, also while others sleep.
 *   [register]    CAS +1 SLEEPER (| STARVING once we waited STARVE_NS), only
 *                 while LOCKED is set; if LOCKED is clear, take it instead.
 *   [wait]        wait on the word with the value just written; a return that
 *                 finds LOCKED set and WAKING clear only saw the word change:
 *                 wait again on the new value.  A registration that wrote a
 *                 value with WAKING set never sleeps (see below).
 *   [deregister]  CAS -1 SLEEPER, clear WAKING; take the lock if HANDOFF is
 *                 set (keep LOCKED, clear HANDOFF) or LOCKED is clear (set
 *                 it); clear STARVING when the count reaches 0 or when the
 *                 thread that takes the lock has itself waited STARVE_NS.
 *                 Not taken: time out, or spin again.
 *   [release]     LOCKED clear -> CT_EPERM, word unchanged.  HANDOFF set (a
 *                 third thread releases a lock in transit): clear LOCKED and
 *                 HANDOFF, the woken sleeper takes it normally.  STARVING
 *                 with sleepers: keep LOCKED, set HANDOFF | WAKING, and wake
 *                 one unless WAKING was already set.  Otherwise clear LOCKED
 *                 (release order) and [wake].
 *   [wake]        sleepers, no wake in flight, nobody re-took the lock: CAS
 *                 WAKING in, then wake one.
 *
 * No lost wake-up: a sleeper registers only while LOCKED is set, never sleeps
 * on a value with WAKING set (a thread that registered during a wake acts as
 * the woken one instead), and sleeps only while the word still holds the
 * value it registered.  So whenever a thread sleeps, the word shows a holder
 * and no wake in flight, and that holder's release wakes someone (or hands
 * the lock to someone, or leaves it to the next holder, who re-checks) — even
 * if the word came back to the sleeper's value by ABA.  A hand-off is always
 * taken: HANDOFF is set only with WAKING, and every thread that sees WAKING
 * comes back to deregister, the one to clear WAKING takes the lock whatever
 * the reason it came back (a timed-out waiter then returns CT_OK: it holds
 * the lock).  The spin model (test/model/lock.pml) checks all this for 2 and 3
 * threads, untimed and timed, with broken variants it must catch.
 *
 * Why WAKING: with the classic 0/1/2 futex lock every release while anyone
 * sleeps costs a wake system call, and under contention the woken thread
 * usually finds the lock re-taken and sleeps again.  Keeping at most one wake
 * in flight (Abseil's designated waker, Go's mutexWoken) removes most of
 * those calls, and a release that sees the lock re-taken leaves the wake to
 * the new holder.
 *
 * Why STARVING: barging (a running thread takes a just-freed lock before the
 * woken sleeper runs) is what makes the lock fast, but alone it lets the
 * threads that stay on a CPU take every turn.  After STARVE_NS of waiting a
 * sleeper turns on direct hand-off (Go's starvation mode, WebKit's eventual
 * fairness); it costs one wake latency per hand-off and lasts only until a
 * starved thread got the lock.
 *
 * Memory orders: every step that sets LOCKED, or takes a handed-over lock, is
 * acquire; every step that clears LOCKED or sets HANDOFF is release — the
 * whole happens-before edge between critical sections.  Every other access
 * only steers retries and may be relaxed.
 *
 * SPDX-License-Identifier: MIT
 */
#define CT_NO_INLINE 1   /* this file defines the exported calls */
#include <assert.h>

#include "cthreading/lock.h"
#include "internal/atomic.h"
#include "internal/clock.h"
#include "internal/lock.h"
#include "internal/lock_word.h"   /* the bits above, named */
#include "internal/platform.h"
#include "internal/spin.h"
#include "internal/tsan_owner.h"   /* TSan annotations: design there */
#include "platform/os.h"
#include "wait/wait.h"

_Static_assert(LOCKED == CT__LOCK_LOCKED, "lock.h's inline fast path uses the same bit");

/* Spin before sleeping: SPIN_ROUNDS looks at the word, with an exponentially
 * growing pause between looks (1, 2, 4, ... PAUSEs).  Few, spaced looks still
 * catch a short critical section ending without pulling the cache line away
 * from the holder.  A waiter spins also when others already sleep: with
 * more threads than CPUs there nearly always are sleepers, and a waiter that
 * went to sleep at once left the lock to the one running holder and a wake
 * system call per release (round two measured it: the oversubscribed cells
 * of the lock matrix ran at 0.33-0.5x absl and the textbook lock; spinning,
 * 0.82-1.9x; cthreading-bench --matrix=lock).  See the README's figures. */
#ifndef SPIN_ROUNDS
#define SPIN_ROUNDS 7
#endif

/* A sleeper that has waited this long turns on direct hand-off (STARVING):
 * about a millisecond, as Go's sync.Mutex and the issue asked. */
#ifndef STARVE_NS
#define STARVE_NS INT64_C(1000000)
#endif

static inline bool cas(_Atomic uint32_t *w, uint32_t *expected, uint32_t desired,
                       memory_order success)
{
    return atomic_compare_exchange_weak_explicit(w, expected, desired, success,
                                                 memory_order_relaxed);
}

/* [fast] Sets LOCKED whatever the other bits; on a held lock the OR writes
 * the value it found, a no-op to every other step (and to futex sleepers,
 * which compare values).  So it is the [spin] step's take, in one RMW:
 * ct__lockword_try of internal/lock.h, which RLock uses too. */
#define try_fast(l) ct__lockword_try(&(l)->state)

/* A try-acquire takes the lock if LOCKED is clear right now, whatever the
 * other bits: a free lock may still show registered sleepers or a wake in
 * flight, and a try-acquire must not fail on it (that made try-lock spinners
 * livelock against slow woken sleepers).  A lock being handed over is
 * LOCKED.  That is exactly try_fast. */
#define try_take try_fast

/* How many of the SPIN_ROUNDS rounds this thread's next spin makes (each
 * round doubles the pause, so one level less halves the spin): a spin that
 * takes the lock raises the level by one, one that runs out lowers it by
 * one, down to 0 (no spin).  At 0 every SPIN_PROBE-th slow acquire spins
 * SPIN_PROBE_ROUNDS rounds (1023 PAUSEs, ~25 µs: longer than a wake-up, so
 * a probe also catches a partner that is being woken on another CPU and
 * breaks a sleeping convoy), and a probe that wins restores the level.
 * Per thread, plain accesses.  Why: with the holder and the waiter on one
 * CPU (or a holder that is preempted) no spin can succeed, and each costs
 * its 127 PAUSEs (3-20 µs on the VMs here) on every slow acquire.
 * Measured, cthreading-bench --filter=shm, row shm_handoff_lock "same"
 * (two processes on CPU 0), ct / pshared pthread twin p50: 1.18-1.33 ->
 * 0.53-0.58; the lock matrix, interleaved A/B runs: no cell worse beyond
 * noise, the oversubscribed empty/short cells 0.8-1.0 -> 1.3-1.5x pthread.
 * A pattern whose spins win more often than they miss stays near the full
 * spin; one that mostly misses settles at 0 and probes. */
#ifndef SPIN_PROBE
#define SPIN_PROBE 64
#endif
#ifndef SPIN_PROBE_ROUNDS
#define SPIN_PROBE_ROUNDS 10
#endif
static _Thread_local unsigned spin_level = SPIN_ROUNDS;
static _Thread_local unsigned spin_skips;

/* [spin] Takes the lock if LOCKED is clear, whatever the other bits; bounded
 * spin with exponential backoff, whether or not others sleep. */
static bool spin_acquire(_Atomic uint32_t *w, bool timed)
{
    unsigned rounds = spin_level;

    if (rounds == 0) {
        if (++spin_skips < SPIN_PROBE)
            return false;
        spin_skips = 0;
        /* The probe; a timed acquire probes no longer than an ordinary
         * spin, so a short timeout is not overshot by the long probe. */
        rounds = timed ? SPIN_ROUNDS : SPIN_PROBE_ROUNDS;
    }
    for (unsigned i = 0; i < rounds; i++) {
        uint32_t s = ct__load_relaxed(w);
        if (!(s & LOCKED) && cas(w, &s, s | LOCKED, memory_order_acquire)) {
            /* Up one level; a won probe (level 0) restores the full spin. */
            spin_level = spin_level == 0 || spin_level >= SPIN_ROUNDS ? SPIN_ROUNDS
                                                                     : spin_level + 1;
            return true;
        }
        for (unsigned j = 0; j < (1u << i); j++)
            ct__cpu_relax();
    }
    if (spin_level > 0)
        spin_level--;
    return false;
}

/* [spin], its second part: CT__SPIN_YIELDS looks at the word, each after a
 * yield of the CPU (internal/spin.h), CAS-ing LOCKED in whenever it is seen
 * clear; also while the PAUSE spin above is off.  A holder that shares this
 * CPU (more threads than CPUs, or a preempted holder) runs at once and its
 * release then finds nobody registered: no wake system call, no sleep.
 * Measured (cthreading-bench --matrix=lock, 7 rounds of 200 ms, one run
 * per build): the oversubscribed cells, 0 -> 8 yields, empty/8 41.8M ->
 * 71.9M acquisitions/s (ct/absl 0.89 -> 1.39), empty/16 40.4M -> 72.4M,
 * long/16 4.17M -> 4.69M (ct/absl 0.90 -> 1.02), long/4 ct/absl 0.84 ->
 * 0.98; 4 and 16 yields were within the noise of 8; ct's fairness stayed
 * >= 0.33 in every multi-thread cell of those runs but one (0.22). */
static bool yield_acquire(_Atomic uint32_t *w, int64_t deadline)
{
    for (unsigned y = 0; y < CT__SPIN_YIELDS && !ct__deadline_passed(deadline); y++) {
        uint32_t s;

        ct__os_yield();
        s = ct__load_relaxed(w);
        if (!(s & LOCKED) && cas(w, &s, s | LOCKED, memory_order_acquire))
            return true;
    }
    return false;
}

/* Slow path: the lock was held on the first try.  Returns CT_OK (held) or
 * CT_ETIMEDOUT (deadline passed, not held; the word keeps no trace of us).
 * `spin` false skips the first round's spin (a spin whose loads all find
 * the lock held: no step of its own). */
CT__NOINLINE static int acquire_slow(uint32_t *state, int64_t deadline, bool spin)
{
    _Atomic uint32_t *w = CT__A32(state);
    int64_t since = 0;        /* when we first registered (0: not yet) */
    bool starved = false;     /* we have waited STARVE_NS */

    for (;;) {
        uint32_t s;
        int rc;

        if (spin && (spin_acquire(w, deadline != CT__NO_DEADLINE) ||
                     yield_acquire(w, deadline)))
            return CT_OK;
        spin = true;
        /* [register], or take the lock if it just came free. */
        s = ct__load_relaxed(w);
        for (;;) {
            if (!(s & LOCKED)) {
                if (cas(w, &s, s | LOCKED, memory_order_acquire))
                    return CT_OK;
            } else if (cas(w, &s, (s + ONE_SLEEPER) | (starved ? STARVING : 0),
                           memory_order_relaxed)) {
                s = (s + ONE_SLEEPER) | (starved ? STARVING : 0);
                break;
            }
        }
        if (since == 0)
            since = ct__now_ns();
        /* [wait].  A return while the lock is still held and no wake is in
         * flight only means the word changed under us (the holder changed,
         * or another sleeper registered): sleep again on the new value,
         * still registered, rather than churn the word. */
        if (s & WAKING) {
            /* Registered while a wake is in flight: never sleep on a value
             * with WAKING set (that wake may have found nobody asleep, and
             * the word can come back to this value by ABA with no release
             * left to wake us: found by the spin model, test/model/).  Act
             * as the woken sleeper at once instead. */
            rc = CT_OK;
        } else {
            do {
                rc = ct__wait_until(state, s, deadline);
                s = ct__load_relaxed(w);
            } while (rc == CT_OK && (s & (LOCKED | WAKING)) == LOCKED);
        }
        if (!starved && ct__now_ns() - since >= STARVE_NS)
            starved = true;
        /* [deregister]: we are (or stand for) the woken sleeper, so clear
         * WAKING; take a handed-over lock, or a free one. */
        for (;;) {
            uint32_t next = (s - ONE_SLEEPER) & ~WAKING;
            bool take = (s & HANDOFF) || !(s & LOCKED);
            if (take) {
                next = (next & ~HANDOFF) | LOCKED;
                if (starved)
                    next &= ~STARVING;
            }
            if (SLEEPERS(next) == 0)
                next &= ~STARVING;
            if (cas(w, &s, next, take ? memory_order_acquire : memory_order_relaxed)) {
                if (take)
                    return CT_OK;
                break;
            }
        }
        if (rc == CT_ETIMEDOUT || ct__deadline_passed(deadline))
            return CT_ETIMEDOUT;
    }
}

/* [wake] Release found sleepers: wake one unless a wake is in flight or the
 * lock was taken again (its holder's release will see the sleepers). */
CT__NOINLINE static void wake_sleeper(uint32_t *state, uint32_t s)
{
    _Atomic uint32_t *w = CT__A32(state);

    while (SLEEPERS(s) != 0 && !(s & (LOCKED | WAKING))) {
        if (cas(w, &s, s | WAKING, memory_order_relaxed)) {
            ct_wake_one(state);
            return;
        }
    }
}

void ct_lock_acquire(ct_lock_t *l)
{
    assert(l != NULL);
    CT__TSAN_LOCK_PRE_ACQUIRE(l, 0);
    if (CT__UNLIKELY(!try_fast(l)))
        (void)acquire_slow(&l->state, CT__NO_DEADLINE, true);
    (void)CT__TSAN_LOCK_POST_ACQUIRE(l, CT_OK);
}

void ct__lock_acquire_queued(ct_lock_t *l)
{
    assert(l != NULL);
    CT__TSAN_LOCK_PRE_ACQUIRE(l, 0);
    if (CT__UNLIKELY(!try_fast(l)))
        (void)acquire_slow(&l->state, CT__NO_DEADLINE, false);
    (void)CT__TSAN_LOCK_POST_ACQUIRE(l, CT_OK);
}

bool ct_lock_try_acquire(ct_lock_t *l)
{
    assert(l != NULL);
    CT__TSAN_LOCK_PRE_ACQUIRE(l, CT__TSAN_TRY);
    return CT__TSAN_LOCK_POST_TRY(l, try_take(l));
}

int ct_lock_acquire_timed(ct_lock_t *l, int64_t timeout_ns)
{
    int64_t deadline;
    int rc;

    assert(l != NULL);
    if ((rc = ct__timeout_check(timeout_ns)) != CT_OK)
        return rc;
    /* Like TSan's pthread_mutex_timedlock: a finite wait is a try-lock. */
    CT__TSAN_LOCK_PRE_ACQUIRE(l, timeout_ns == CT_FOREVER ? 0 : CT__TSAN_TRY);
    if (CT__LIKELY(try_fast(l)))
        return CT__TSAN_LOCK_POST_ACQUIRE(l, CT_OK);
    if (timeout_ns == 0)
        return CT__TSAN_LOCK_POST_ACQUIRE(l, try_take(l) ? CT_OK : CT_ETIMEDOUT);
    deadline = ct__deadline_of(timeout_ns);
    return CT__TSAN_LOCK_POST_ACQUIRE(l, acquire_slow(&l->state, deadline, true));
}

/* [release] on a bare word: CT_EPERM (word unchanged) if LOCKED is clear. */
static inline int release_word(uint32_t *state)
{
    _Atomic uint32_t *w = CT__A32(state);
    uint32_t s, next;

    s = ct__load_relaxed(w);
    do {
        if (!(s & LOCKED))
            return CT_EPERM;
        if (s & HANDOFF)
            next = s & ~(LOCKED | HANDOFF);        /* cancel a hand-off in transit */
        else if ((s & STARVING) && SLEEPERS(s) != 0)
            next = s | HANDOFF | WAKING;           /* hand over, LOCKED stays */
        else
            next = s & ~LOCKED;
    } while (!cas(w, &s, next, memory_order_release));
    if (next & HANDOFF) {
        if (!(s & WAKING))
            ct_wake_one(state);
    } else if (CT__UNLIKELY(SLEEPERS(s) != 0) && !(s & HANDOFF)) {
        wake_sleeper(state, next);
    }
    return CT_OK;
}

int ct_lock_release(ct_lock_t *l)
{
    int rc;

    assert(l != NULL);
    CT__TSAN_LOCK_PRE_RELEASE(l);
    rc = release_word(&l->state);
    return CT__TSAN_LOCK_POST_RELEASE(l, rc);
}

/* ---- the word alone, for RLock (internal/lock.h) ------------------------------- */

int ct__lockword_acquire_slow(uint32_t *state, int64_t deadline)
{
    return acquire_slow(state, deadline, true);
}

int ct__lockword_release(uint32_t *state)
{
    return release_word(state);
}

bool ct_lock_locked(const ct_lock_t *l)
{
    assert(l != NULL);
    return (ct__load_relaxed(CT__A32(&l->state)) & LOCKED) != 0;
}
