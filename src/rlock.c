/* RLock: threading.RLock as a Lock word, an owner id and a recursion count
 * (CPython's way: a reentrant lock built on the plain lock).
 *
 * Fields (ct_rlock_t):
 *   state  the lock word.  Its protocol depends on where the RLock lives,
 *          which never changes for an object, so every party agrees (the
 *          caller's owner id tells: see me_for / in_region):
 *          - in process memory, exactly the Lock's protocol (src/lock.c:
 *            LOCKED, WAKING, HANDOFF, STARVING, SLEEPERS; spin with backoff
 *            and the adaptive level, register, sleep, one wake in flight,
 *            direct hand-off after a millisecond of waiting; model-checked
 *            in test/model/lock.pml), through the word calls of
 *            internal/lock.h: the inline OR to take it, the Lock's slow
 *            path, the inline CAS to free it when nobody waits.  Until the
 *            seventh session every RLock used the three-state word below;
 *            its contended empty cells ran at 0.64-1.02x the recursive
 *            pthread mutex (cthreading-bench --matrix=rlock, two runs), on
 *            the Lock's word at 0.95-1.22x;
 *          - inside a region of shared memory, the three states of the
 *            textbook futex lock: S_UNLOCKED 0, S_LOCKED 1 (held, nobody
 *            sleeps), S_PARKED 2 (held, some thread may sleep).  acquire:
 *            CAS 0 -> 1; else spin (SHARED_SPIN plain loads, stop on
 *            PARKED), then XCHG -> 2 and sleep while it is 2 until the XCHG
 *            finds 0.  release: XCHG -> 0, wake one if it was 2.  No lost
 *            wake-up: a thread sleeps only after writing PARKED itself, and
 *            the wait layer re-checks the word atomically with sleeping.
 *            Why not the Lock's word there: a process killed while it
 *            waits stays counted in SLEEPERS for ever (no release ever
 *            takes it out), and with STARVING set every release then hands
 *            the lock to that dead waiter and the next acquirer must fish
 *            it out through the slow path: an RLock is what the docs tell
 *            users to pick where peers may be killed, and this word has no
 *            count to corrupt (test/model/rlock_owner.pml).
 *   owner  ct_thread_ident() of the thread holding the word, 0 when free.
 *          Written only by the holder: set right after taking the word,
 *          cleared right before freeing it.  Everyone else only compares it
 *          with their own id, so relaxed atomics suffice: a thread's own id
 *          can appear there only through its own store, and by read-after-
 *          write coherence it never sees an older value of its own clear.
 *          Ids are never reused, so a stale value can never match.
 *   count  the levels held beyond the first (0 whenever the RLock is free,
 *          so a first acquire and a last release do not write it: fewer
 *          writes to the line that the waiters' spin reads); a plain field
 *          touched only by the owner, handed from one owner to the next by
 *          the word's release/acquire.
 *
 * Inside a region the owner id is ct__shm_owner_id() — process and thread,
 * unique across processes — instead of ct_thread_ident(), which is unique
 * within one process only.  A sleeper there wakes every OWNER_PROBE_NS to
 * look whether the owner's process still exists; if it died, the sleeper
 * takes the RLock over by CAS on the owner field (one winner), keeps the
 * word held (PARKED, so its release wakes the others) and returns
 * CT_EOWNERDEAD.
 *
 * Re-entry (owner == caller) is a relaxed load and a plain increment: it
 * touches no shared word with an atomic read-modify-write.  Errors (EPERM,
 * EOVERFLOW, bad timeouts) are decided before anything is written.
 *
 * ThreadSanitizer sees the RLock as a write-reentrant mutex with one lock
 * per level; Condition's wait releases and restores all levels at once
 * (ct__rlock_release_save / ct__rlock_acquire_restore) with TSan's recursive
 * unlock/lock flags, so TSan's recursion count always matches ours.
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>
#include <limits.h>

#include "cthreading/rlock.h"
#include "cthreading/thread.h"
#include "internal/atomic.h"
#include "internal/ident.h"
#include "internal/lock.h"
#include "internal/platform.h"
#include "internal/rlock.h"
#include "internal/shm.h"
#include "internal/tsan.h"
#include "wait/wait.h"

#define TSAN_FLAGS CT__TSAN_WRITE_REENTRANT

/* The word of an RLock inside a region: the three states of the textbook
 * futex lock (see the top of this file).  Spin up to SHARED_SPIN looks,
 * one PAUSE apart, before sleeping; stop at once on PARKED. */
enum { S_UNLOCKED = 0, S_LOCKED = 1, S_PARKED = 2 };
#define SHARED_SPIN 100

/* How often a sleeper on an RLock inside a region looks whether the owner's
 * process died: the owner-death test of test/test_shm.c needs the take-over
 * within 1 s of the kill; a probe costs a wake-up and a kill(pid, 0). */
#define OWNER_PROBE_NS CT_MS(50)

static inline _Atomic uint32_t *word(ct_rlock_t *r) { return CT__A32(&r->state); }

static inline uint64_t owner_of(const ct_rlock_t *r)
{
    return ct__load_relaxed(CT__A64(&r->owner));
}

/* The caller's owner id for r: ct_thread_ident(), or inside a region the
 * id that is unique across processes (ct__shm_is_owner_id tells them
 * apart, and so which of the two word protocols r follows). */
static inline uint64_t me_for(const ct_rlock_t *r)
{
    return CT__UNLIKELY(ct__shm_contains(r)) ? ct__shm_owner_id() : ct__thread_ident();
}

static inline bool in_region(uint64_t me) { return CT__UNLIKELY(ct__shm_is_owner_id(me)); }

/* Takes the word if it is free; `me` says which protocol. */
static inline bool word_try(ct_rlock_t *r, uint64_t me)
{
    uint32_t expected = S_UNLOCKED;

    if (!in_region(me))
        return ct__lockword_try(&r->state);
    return atomic_compare_exchange_strong_explicit(word(r), &expected, S_LOCKED,
                                                   memory_order_acquire, memory_order_relaxed);
}

/* Inside a region: if r's owner is a process that has died, makes `me` the
 * owner (the word stays held) and returns true. */
CT__COLD static bool take_over(ct_rlock_t *r, uint64_t me)
{
    uint64_t dead = owner_of(r);

    if (!ct__shm_is_owner_id(dead) || !ct__shm_pid_dead(ct__shm_owner_pid(dead)))
        return false;
    if (!atomic_compare_exchange_strong_explicit(CT__A64(&r->owner), &dead, me,
                                                 memory_order_acquire, memory_order_relaxed))
        return false;
    (void)atomic_exchange_explicit(word(r), S_PARKED, memory_order_acquire);
    return true;
}

/* Sleeps on the word of an RLock inside a region until it changes, the
 * deadline passes (CT_ETIMEDOUT) or its owner's process is found dead and
 * `me` took it over (CT_EOWNERDEAD). */
CT__COLD static int shared_sleep(ct_rlock_t *r, uint64_t me, int64_t deadline)
{
    for (;;) {
        int64_t probe = ct__deadline_of(OWNER_PROBE_NS);
        bool last = deadline != CT__NO_DEADLINE && deadline <= probe;

        if (ct__wait_until(&r->state, S_PARKED, last ? deadline : probe) == CT_OK)
            return CT_OK;
        if (take_over(r, me))
            return CT_EOWNERDEAD;
        if (last)
            return CT_ETIMEDOUT;
        if (ct__load_relaxed(word(r)) != S_PARKED)
            return CT_OK;
    }
}

/* Inside a region, after a failed try: spin, then XCHG PARKED and sleep. */
CT__COLD static int shared_acquire_slow(ct_rlock_t *r, uint64_t me, int64_t deadline)
{
    _Atomic uint32_t *w = word(r);

    for (int i = 0; i < SHARED_SPIN; i++) {
        uint32_t s = ct__load_relaxed(w);
        if (s == S_UNLOCKED && word_try(r, me))
            return CT_OK;
        if (s == S_PARKED)
            break;              /* others already sleep: join them */
        ct__cpu_relax();
    }
    while (atomic_exchange_explicit(w, S_PARKED, memory_order_acquire) != S_UNLOCKED) {
        int rc = shared_sleep(r, me, deadline);
        if (rc != CT_OK)
            return rc;
    }
    return CT_OK;
}

/* The word was held on the first try.  Returns CT_OK (now held),
 * CT_ETIMEDOUT (deadline passed, not held) or, inside a region,
 * CT_EOWNERDEAD (taken over from a dead process: held, owner already me). */
CT__NOINLINE static int word_acquire_slow(ct_rlock_t *r, uint64_t me, int64_t deadline)
{
    if (in_region(me))
        return shared_acquire_slow(r, me, deadline);
    return ct__lockword_acquire_slow(&r->state, deadline);
}

static inline void word_release(ct_rlock_t *r, uint64_t me)
{
    if (!in_region(me))
        (void)ct__lockword_release_fast(&r->state);
    else if (atomic_exchange_explicit(word(r), S_UNLOCKED, memory_order_release) == S_PARKED)
        ct_wake_one(&r->state);
}

/* Called with the word just taken (rc CT_OK) or taken over from a dead
 * process (CT_EOWNERDEAD: its levels are dropped); count: the levels we
 * hold now.  The count field holds the levels beyond the first, and is 0
 * whenever the RLock is free, so a first acquire does not write it. */
static inline void become_owner(ct_rlock_t *r, uint64_t me, uint32_t count, int rc)
{
    if (count != 1 || CT__UNLIKELY(rc == CT_EOWNERDEAD))
        r->count = count - 1;
    ct__store_relaxed(CT__A64(&r->owner), me);
}

/* The caller already owns r: one more level, unless the count is full
 * (UINT32_MAX levels). */
static inline int reenter(ct_rlock_t *r)
{
    if (CT__UNLIKELY(r->count == UINT32_MAX - 1))
        return CT_EOVERFLOW;
    CT__TSAN_PRE_LOCK(r, TSAN_FLAGS);
    r->count++;
    CT__TSAN_POST_LOCK(r, TSAN_FLAGS, 1);
    return CT_OK;
}

int ct_rlock_acquire(ct_rlock_t *r)
{
    uint64_t me;

    int rc = CT_OK;

    assert(r != NULL);
    me = me_for(r);
    if (owner_of(r) == me)
        return reenter(r);
    CT__TSAN_PRE_LOCK(r, TSAN_FLAGS);
    if (CT__UNLIKELY(!word_try(r, me)))
        rc = word_acquire_slow(r, me, CT__NO_DEADLINE);
    become_owner(r, me, 1, rc);
    CT__TSAN_POST_LOCK(r, TSAN_FLAGS, 1);
    return rc;
}

bool ct_rlock_try_acquire(ct_rlock_t *r)
{
    uint64_t me;
    bool got;

    assert(r != NULL);
    me = me_for(r);
    if (owner_of(r) == me)
        return reenter(r) == CT_OK;
    CT__TSAN_PRE_LOCK(r, TSAN_FLAGS | CT__TSAN_TRY);
    got = word_try(r, me);
    if (got)
        become_owner(r, me, 1, CT_OK);
    CT__TSAN_POST_LOCK(r, TSAN_FLAGS | CT__TSAN_TRY | (got ? 0u : CT__TSAN_TRY_FAILED),
                       got ? 1 : 0);
    return got;
}

int ct_rlock_acquire_timed(ct_rlock_t *r, int64_t timeout_ns)
{
    uint64_t me;
    unsigned flags;
    int64_t deadline;
    int rc;

    assert(r != NULL);
    if ((rc = ct__timeout_check(timeout_ns)) != CT_OK)
        return rc;
    me = me_for(r);
    if (owner_of(r) == me)
        return reenter(r);
    /* A wait that may give up is a try-lock to TSan. */
    flags = TSAN_FLAGS | (timeout_ns == CT_FOREVER ? 0u : CT__TSAN_TRY);
    (void)flags;
    CT__TSAN_PRE_LOCK(r, flags);
    if (!word_try(r, me)) {
        if (timeout_ns == 0) {
            rc = CT_ETIMEDOUT;
        } else {
            deadline = ct__deadline_of(timeout_ns);
            rc = word_acquire_slow(r, me, deadline);
        }
    }
    if (rc == CT_OK || rc == CT_EOWNERDEAD) {
        become_owner(r, me, 1, rc);
        CT__TSAN_POST_LOCK(r, flags, 1);
    } else {
        CT__TSAN_POST_LOCK(r, flags | CT__TSAN_TRY_FAILED, 0);
    }
    return rc;
}

int ct_rlock_release(ct_rlock_t *r)
{
    uint64_t me;

    assert(r != NULL);
    me = me_for(r);
    if (owner_of(r) != me)
        return CT_EPERM;
    (void)CT__TSAN_PRE_UNLOCK(r, TSAN_FLAGS);
    if (r->count != 0) {
        r->count--;
    } else {
        ct__store_relaxed(CT__A64(&r->owner), 0);
        word_release(r, me);
    }
    CT__TSAN_POST_UNLOCK(r, TSAN_FLAGS);
    return CT_OK;
}

bool ct_rlock_is_owned(const ct_rlock_t *r)
{
    assert(r != NULL);
    return owner_of(r) == me_for(r);
}

unsigned ct_rlock_count(const ct_rlock_t *r)
{
    assert(r != NULL);
    return owner_of(r) == me_for(r) ? r->count + 1 : 0u;
}

/* ---- Condition's hooks ------------------------------------------------------- */

uint32_t ct__rlock_release_save(ct_rlock_t *r)
{
    uint32_t count = r->count + 1;
    uint64_t me = me_for(r);

    assert(owner_of(r) == me);
    (void)CT__TSAN_PRE_UNLOCK(r, TSAN_FLAGS | CT__TSAN_RECURSIVE_UNLOCK);
    r->count = 0;
    ct__store_relaxed(CT__A64(&r->owner), 0);
    word_release(r, me);
    CT__TSAN_POST_UNLOCK(r, TSAN_FLAGS | CT__TSAN_RECURSIVE_UNLOCK);
    return count;
}

int ct__rlock_acquire_restore(ct_rlock_t *r, uint32_t count)
{
    uint64_t me = me_for(r);
    int rc = CT_OK;

    assert(count >= 1);
    CT__TSAN_PRE_LOCK(r, TSAN_FLAGS);
    if (!word_try(r, me))
        rc = word_acquire_slow(r, me, CT__NO_DEADLINE);
    become_owner(r, me, count, rc);
    CT__TSAN_POST_LOCK(r, TSAN_FLAGS | CT__TSAN_RECURSIVE_LOCK,
                       count > (uint32_t)INT_MAX ? INT_MAX : (int)count);
    return rc;
}
