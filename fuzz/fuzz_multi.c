/* libFuzzer target: scripted multi-thread runs over a shared set of
 * primitives, with invariants and a watchdog.
 *
 * Input: byte 0 chooses 2-4 threads; the rest is dealt round-robin into one
 * script per thread.  Every script byte is an operation on the shared set
 * (today: three Locks with owner words and counters, and one wait word):
 *   acquire (blocking only in ascending lock order, so scripts cannot
 *   deadlock; otherwise a short timed acquire), try, timed, release of a
 *   lock the thread holds, wait on / bump + wake the word, a short delay.
 * Invariants: mutual exclusion (owner word exchanged on entry and exit),
 * a thread's try/timed acquire of a lock it holds itself fails (Lock is not
 * recursive), bad timeouts are rejected, each lock's counter equals its
 * acquisitions and every lock is free at the end.  Watchdog: each thread
 * must be joined within 10 s, or the run aborts as a hang (lost wake-up).
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
};

struct script {
    struct shared *sh;
    int me;
    uint8_t ops[SCRIPT_MAX];
    size_t n;
    bool held[LOCKS];
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
    return h;
}

static void run_op(struct script *s, uint8_t op)
{
    struct shared *sh = s->sh;
    int i = (op >> 4) % LOCKS;
    ct_lock_t *l = &sh->locks[i];

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
        int64_t t = (op & 8) ? CT_US(op) : 0;
        if (op == 0x79)
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
        if (op & 8)
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
    for (int i = 0; i < LOCKS; i++)
        if (s->held[i])
            leave(s, i);
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
    return 0;
}
