/* libFuzzer target: scripted multi-thread runs over a shared set of
 * primitives, with invariants and a watchdog.
 *
 * Input: byte 0 chooses 2-4 threads; the rest is dealt round-robin into one
 * script per thread.  Every script byte is an operation on the shared set:
 * three Locks and an RLock with owner words and counters, a wait word, a
 * BoundedSemaphore(2), an Event, a Condition on its own Lock, and a Barrier
 * with one party per thread.  Operations (low 4 bits):
 *   0-7   Locks: acquire (blocking only in ascending order, the RLock counting
 *         as the last lock, so scripts cannot deadlock; otherwise a short
 *         timed acquire), try, timed, release of a held lock, wait on / bump
 *         + wake the word, a short delay;
 *   8-10  RLock: acquire / re-enter, try or timed, release one level;
 *   11-12 Semaphore: try or short timed acquire, release what is held (and a
 *         release(3) that must overflow);
 *   13    Event: set, clear, or a short timed wait;
 *   14    Condition (only while holding nothing): notify(n) or a short wait;
 *   15    Barrier: a short timed wait (a timeout breaks it), maybe a reset.
 * Invariants: mutual exclusion (owner words exchanged on entry and exit), a
 * thread's try/timed acquire of a Lock it holds fails (not recursive), RLock
 * depth and owner, semaphore holders never above 2 and its value back to 2
 * at the end, notify wakes exactly min(n, waiting), the oldest ones: a waiter
 * returns CT_OK iff a notify chose it (model queue under the condition's
 * lock), barrier
 * indexes in range, bad timeouts rejected, timed calls never early, each
 * counter equals its acquisitions and everything is free at the end.
 * Watchdog: each thread must be joined within 10 s, or the run aborts as a
 * hang (lost wake-up).
 *
 * Adding a primitive: put it in `struct shared`, give it op codes in
 * run_op() (and a check in the final invariants).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdatomic.h>
#include <string.h>

#include "fuzz_input.h"

#define MAX_THREADS 4
#define LOCKS 3
#define SCRIPT_MAX 128

struct shared {
    ct_lock_t locks[LOCKS];
    atomic_int owner[LOCKS];       /* thread index + 1 inside, 0 outside */
    long counter[LOCKS];           /* plain: written under the lock */
    atomic_long acquisitions[LOCKS];
    uint32_t word;                 /* wait/wake word, atomic via the cast */
    ct_rlock_t rl;
    atomic_int rl_owner;
    long rl_counter;               /* plain: written under the RLock */
    atomic_long rl_acquisitions;
    ct_sem_t sem;                  /* bounded, 2 permits */
    atomic_int sem_holders;
    ct_event_t ev;
    ct_lock_t cl;                  /* the condition's lock */
    ct_cond_t cond;
    /* The condition's model, under cl: the waiters' queue, oldest first, and
     * which ones a notify chose (they must return CT_OK, the others time
     * out); cn counts the chosen that have not returned yet. */
    int cqueue[MAX_THREADS], cq, cn;
    bool cmarked[MAX_THREADS];
    ct_barrier_t bar;
    int nthreads;
};

struct script {
    struct shared *sh;
    int me;
    uint8_t ops[SCRIPT_MAX];
    size_t n;
    bool held[LOCKS];
    unsigned rl_depth;
    int sem_held;
};

static void enter(struct script *s, int i)
{
    int prev = atomic_exchange(&s->sh->owner[i], s->me + 1);
    FUZZ_CHECK(prev == 0, "lock %d: thread %d entered while thread %d inside", i, s->me, prev - 1);
    s->sh->counter[i]++;
    atomic_fetch_add(&s->sh->acquisitions[i], 1);
    s->held[i] = true;
}

static void leave(struct script *s, int i)
{
    int prev = atomic_exchange(&s->sh->owner[i], 0);
    FUZZ_CHECK(prev == s->me + 1, "lock %d: owner word %d changed under thread %d", i, prev, s->me);
    s->held[i] = false;
    FUZZ_EXPECT_RC(ct_lock_release(&s->sh->locks[i]), CT_OK, "release of a held lock");
}

static int highest_held(const struct script *s)
{
    int h = -1;
    for (int i = 0; i < LOCKS; i++)
        if (s->held[i])
            h = i;
    return s->rl_depth > 0 ? LOCKS : h;
}

static void rl_took(struct script *s)
{
    if (s->rl_depth++ == 0) {
        int prev = atomic_exchange(&s->sh->rl_owner, s->me + 1);
        FUZZ_CHECK(prev == 0, "RLock: thread %d entered while thread %d owns it", s->me, prev - 1);
        s->sh->rl_counter++;
        atomic_fetch_add(&s->sh->rl_acquisitions, 1);
    }
    FUZZ_CHECK(ct_rlock_count(&s->sh->rl) == s->rl_depth, "RLock count %u, depth %u",
               ct_rlock_count(&s->sh->rl), s->rl_depth);
}

static void rl_release(struct script *s)
{
    if (s->rl_depth == 1) {
        int prev = atomic_exchange(&s->sh->rl_owner, 0);
        FUZZ_CHECK(prev == s->me + 1, "RLock owner word %d under thread %d", prev, s->me);
    }
    FUZZ_EXPECT_RC(ct_rlock_release(&s->sh->rl), CT_OK, "RLock release by its owner");
    s->rl_depth--;
    FUZZ_CHECK(ct_rlock_count(&s->sh->rl) == s->rl_depth, "RLock count after release");
}

static void sem_release_all(struct script *s)
{
    if (s->sem_held > 0) {
        atomic_fetch_sub(&s->sh->sem_holders, s->sem_held);
        FUZZ_EXPECT_RC(ct_sem_release(&s->sh->sem, s->sem_held), CT_OK, "sem release");
        s->sem_held = 0;
    }
}

static int64_t short_timeout(uint8_t op) { return (op & 0x80) ? CT_US(op & 0x3f) : 0; }

static void timed_ok(int rc, int64_t took, int64_t t, const char *what)
{
    FUZZ_CHECK(rc == CT_OK || rc == CT_ETIMEDOUT, "%s: %s", what, ct_strerror(rc));
    FUZZ_NOT_EARLY(rc, took, t, what);
}

/* Operations 8-15: the other primitives. */
static void run_op2(struct script *s, uint8_t op)
{
    struct shared *sh = s->sh;
    int64_t t = short_timeout(op), t0;
    int rc;

    switch (op & 15) {
    case 8:                         /* RLock acquire: re-entry, or in lock order */
        if (s->rl_depth > 0 || highest_held(s) < LOCKS) {
            FUZZ_EXPECT_RC(ct_rlock_acquire(&sh->rl), CT_OK, "RLock acquire");
            rl_took(s);
        }
        break;
    case 9:                         /* RLock try / timed */
        if (op & 0x40) {
            if (ct_rlock_try_acquire(&sh->rl))
                rl_took(s);
            else
                FUZZ_CHECK(s->rl_depth == 0, "RLock try by its owner failed");
        } else {
            t0 = ct__now_ns();
            rc = ct_rlock_acquire_timed(&sh->rl, t);
            timed_ok(rc, ct__now_ns() - t0, t, "RLock acquire_timed");
            if (rc == CT_OK)
                rl_took(s);
            else
                FUZZ_CHECK(s->rl_depth == 0, "RLock timed re-entry failed");
        }
        break;
    case 10:                        /* RLock release one level */
        if (s->rl_depth > 0)
            rl_release(s);
        else
            FUZZ_EXPECT_RC(ct_rlock_release(&sh->rl), CT_EPERM, "RLock release by a non-owner");
        break;
    case 11: {                      /* semaphore: try or short timed */
        if (s->sem_held == 2)
            break;
        t0 = ct__now_ns();
        rc = (op & 0x40) ? (ct_sem_try_acquire(&sh->sem) ? CT_OK : CT_ETIMEDOUT)
                         : ct_sem_acquire_timed(&sh->sem, t);
        timed_ok(rc, (op & 0x40) ? t : ct__now_ns() - t0, t, "sem acquire");
        if (rc == CT_OK) {
            s->sem_held++;
            int h = atomic_fetch_add(&sh->sem_holders, 1) + 1;
            FUZZ_CHECK(h <= 2, "%d semaphore holders of 2 permits", h);
        }
        break;
    }
    case 12:                        /* semaphore: over-release, then release held */
        FUZZ_EXPECT_RC(ct_sem_release(&sh->sem, 3), CT_EOVERFLOW, "bounded release(3)");
        FUZZ_CHECK(ct_sem_value(&sh->sem) >= 0 && ct_sem_value(&sh->sem) <= 2, "sem value %lld",
                   (long long)ct_sem_value(&sh->sem));
        sem_release_all(s);
        break;
    case 13:                        /* event */
        if ((op & 0x30) == 0x00) {
            ct_event_set(&sh->ev);
        } else if ((op & 0x30) == 0x10) {
            ct_event_clear(&sh->ev);
        } else {
            t0 = ct__now_ns();
            rc = ct_event_wait_timed(&sh->ev, t);
            timed_ok(rc, ct__now_ns() - t0, t, "event wait_timed");
        }
        break;
    case 14: {                      /* condition, holding nothing else */
        if (highest_held(s) >= 0 || s->sem_held > 0)
            break;
        ct_lock_acquire(&sh->cl);
        if (op & 0x40) {
            unsigned n = (op >> 4) & 3;
            int want = (int)n < sh->cq ? (int)n : sh->cq;
            rc = (op & 0x20) && n == 3 ? ct_cond_notify_all(&sh->cond) : ct_cond_notify(&sh->cond, n);
            if ((op & 0x20) && n == 3)
                want = sh->cq;
            FUZZ_CHECK(rc == want, "notify woke %d with %d waiting, want %d", rc, sh->cq, want);
            /* The rc oldest waiters are the notified ones (FIFO). */
            for (int i = 0; i < rc; i++)
                sh->cmarked[sh->cqueue[i]] = true;
            memmove(&sh->cqueue[0], &sh->cqueue[rc], (size_t)(sh->cq - rc) * sizeof(int));
            sh->cq -= rc;
            sh->cn += rc;
        } else {
            sh->cqueue[sh->cq++] = s->me;
            sh->cmarked[s->me] = false;
            if (t > 0)
                t *= 40;            /* up to 2.5 ms: long enough to be notified */
            t0 = ct__now_ns();
            rc = ct_cond_wait_timed(&sh->cond, t);
            timed_ok(rc, ct__now_ns() - t0, t, "cond wait_timed");
            if (rc == CT_OK) {
                FUZZ_CHECK(sh->cmarked[s->me],
                           "cond: CT_OK without a notification for this waiter (spurious, "
                           "or not the oldest first)");
                sh->cn--;
            } else if (rc == CT_ETIMEDOUT) {
                FUZZ_CHECK(!sh->cmarked[s->me], "cond: timed out although notified");
                int i = 0;
                while (i < sh->cq && sh->cqueue[i] != s->me)
                    i++;
                FUZZ_CHECK(i < sh->cq, "cond: a timed-out waiter not in the model's queue");
                memmove(&sh->cqueue[i], &sh->cqueue[i + 1], (size_t)(sh->cq - i - 1) * sizeof(int));
                sh->cq--;
            }
            sh->cmarked[s->me] = false;
        }
        ct_lock_release(&sh->cl);
        break;
    }
    default:                        /* barrier */
        if (highest_held(s) >= 0 || s->sem_held > 0)
            break;                  /* do not hold anything others may need */
        t0 = ct__now_ns();
        rc = ct_barrier_wait_timed(&sh->bar, t);
        FUZZ_CHECK((rc >= 0 && rc < sh->nthreads) || rc == CT_EBROKEN || rc == CT_ETIMEDOUT,
                   "barrier wait: %d", rc);
        FUZZ_NOT_EARLY(rc, ct__now_ns() - t0, t, "barrier wait_timed");
        if (rc < 0 && (op & 0x40))
            ct_barrier_reset(&sh->bar);
        break;
    }
}

static void run_op(struct script *s, uint8_t op)
{
    struct shared *sh = s->sh;
    int i = (op >> 4) % LOCKS;
    ct_lock_t *l = &sh->locks[i];

    if (op & 8) {
        run_op2(s, op);
        return;
    }
    switch (op & 7) {
    case 0:                         /* acquire */
        if (s->held[i])
            break;
        if (i > highest_held(s)) {
            ct_lock_acquire(l);
            enter(s, i);
            break;
        }
        /* fall through: out of order, only a bounded wait */
    case 1: {                       /* timed acquire */
        int64_t t = (op & 0x40) ? CT_US(op & 0x3f) : 0;
        if (op == 0x71)
            t = -5;                 /* a bad timeout now and then */
        int rc = ct_lock_acquire_timed(l, t);
        if (t < 0)
            FUZZ_EXPECT_RC(rc, CT_EINVAL, "bad timeout");
        else if (s->held[i])
            FUZZ_EXPECT_RC(rc, CT_ETIMEDOUT, "timed acquire of a lock this thread holds");
        else if (rc == CT_OK)
            enter(s, i);
        else
            FUZZ_EXPECT_RC(rc, CT_ETIMEDOUT, "timed acquire");
        break;
    }
    case 2: {                       /* try */
        bool got = ct_lock_try_acquire(l);
        if (s->held[i])
            FUZZ_CHECK(!got, "try_acquire of a lock this thread holds succeeded");
        else if (got)
            enter(s, i);
        break;
    }
    case 3: case 4:                 /* release one held lock */
        if (s->held[i])
            leave(s, i);
        break;
    case 5: {                       /* wait on the word (bounded) */
        uint32_t v = atomic_load_explicit((_Atomic uint32_t *)&sh->word, memory_order_acquire);
        int rc = ct_wait(&sh->word, v, CT_US(1 + (op >> 3)));
        FUZZ_CHECK(rc == CT_OK || rc == CT_ETIMEDOUT, "ct_wait: %s", ct_strerror(rc));
        break;
    }
    case 6:                         /* bump and wake */
        atomic_fetch_add_explicit((_Atomic uint32_t *)&sh->word, 1, memory_order_release);
        if (op & 0x40)
            ct_wake_one(&sh->word);
        else
            ct_wake_all(&sh->word);
        break;
    default:                        /* a short delay, holding whatever we hold */
        for (int k = 0; k < (op >> 3) * 8; k++)
            atomic_signal_fence(memory_order_seq_cst);
        break;
    }
}

static void thread_main(void *p)
{
    struct script *s = p;
    for (size_t k = 0; k < s->n; k++)
        run_op(s, s->ops[k]);
    while (s->rl_depth > 0)
        rl_release(s);
    for (int i = 0; i < LOCKS; i++)
        if (s->held[i])
            leave(s, i);
    sem_release_all(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct shared sh;
    static struct script scripts[MAX_THREADS];
    ct_thread_t threads[MAX_THREADS];
    int n, started = 0;

    if (size < 2)
        return 0;
    n = 2 + data[0] % (MAX_THREADS - 1);
    memset(&sh, 0, sizeof sh);
    memset(scripts, 0, sizeof scripts);
    sh.nthreads = n;
    FUZZ_CHECK(ct_sem_init_bounded(&sh.sem, 2) == CT_OK, "sem init");
    ct_cond_init(&sh.cond, &sh.cl);
    FUZZ_CHECK(ct_barrier_init(&sh.bar, (unsigned)n, NULL, NULL, CT_FOREVER) == CT_OK, "barrier");
    for (int t = 0; t < n; t++)
        scripts[t].sh = &sh, scripts[t].me = t;
    for (size_t k = 1; k < size; k++) {
        struct script *s = &scripts[(k - 1) % n];
        if (s->n < SCRIPT_MAX)
            s->ops[s->n++] = data[k];
    }
    for (int t = 0; t < n; t++) {
        if (ct_thread_start(&threads[t], thread_main, &scripts[t]) != CT_OK)
            break;
        started++;
    }
    if (started < n) {              /* no threads: run the rest here, in turn */
        for (int t = started; t < n; t++)
            thread_main(&scripts[t]);
    }
    for (int t = 0; t < started; t++) {
        int rc = ct_thread_join(&threads[t], CT_SEC(10));
        FUZZ_CHECK(rc == CT_OK, "watchdog: thread %d still running after 10 s (hang)", t);
    }
    for (int i = 0; i < LOCKS; i++) {
        FUZZ_CHECK(!ct_lock_locked(&sh.locks[i]), "lock %d still locked at the end", i);
        FUZZ_CHECK(sh.counter[i] == atomic_load(&sh.acquisitions[i]),
                   "lock %d: counter %ld != %ld acquisitions", i, sh.counter[i],
                   atomic_load(&sh.acquisitions[i]));
    }
    FUZZ_CHECK(ct_rlock_try_acquire(&sh.rl) && ct_rlock_release(&sh.rl) == CT_OK,
               "RLock still owned at the end");
    FUZZ_CHECK(sh.rl_counter == atomic_load(&sh.rl_acquisitions), "RLock counter %ld != %ld",
               sh.rl_counter, atomic_load(&sh.rl_acquisitions));
    FUZZ_CHECK(ct_sem_value(&sh.sem) == 2, "semaphore value %lld at the end",
               (long long)ct_sem_value(&sh.sem));
    FUZZ_CHECK(sh.cq == 0 && sh.cn == 0, "cond model at the end: queued %d notified %d", sh.cq,
               sh.cn);
    FUZZ_CHECK(!ct_lock_locked(&sh.cl), "the condition's lock locked at the end");
    return 0;
}
