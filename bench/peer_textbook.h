/* The textbook futex lock: the baseline any user could write in ~30 lines.
 *
 * The 0/1/2 protocol of Rust std's futex Mutex (and of Drepper's "Futexes
 * are tricky", mutex 2): 0 unlocked, 1 locked, 2 locked with possible
 * sleepers.  Lock: CAS 0->1; otherwise spin up to 100 relaxed loads while
 * the word is 1, then swap in 2 and FUTEX_WAIT while the swap returned
 * non-zero.  Unlock: swap 0, and FUTEX_WAKE one thread if it was 2.  No
 * fairness, no backoff, no designated waker.  Benchmark peer only (Linux).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_BENCH_PEER_TEXTBOOK_H
#define CT_BENCH_PEER_TEXTBOOK_H

#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

struct textbook_lock {
    uint32_t state;      /* only through __atomic builtins */
};

static inline uint32_t textbook_spin(struct textbook_lock *l)
{
    uint32_t s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
    for (int i = 0; i < 100 && s == 1; i++) {
        __builtin_ia32_pause();
        s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
    }
    return s;
}

__attribute__((noinline)) static void textbook_lock_slow(struct textbook_lock *l)
{
    uint32_t s = textbook_spin(l), zero = 0;
    if (s == 0 && __atomic_compare_exchange_n(&l->state, &zero, 1, false, __ATOMIC_ACQUIRE,
                                              __ATOMIC_RELAXED))
        return;
    for (;;) {
        if (s != 2 && __atomic_exchange_n(&l->state, 2, __ATOMIC_ACQUIRE) == 0)
            return;
        syscall(SYS_futex, &l->state, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        s = textbook_spin(l);
    }
}

static inline void textbook_lock(struct textbook_lock *l)
{
    uint32_t zero = 0;
    if (!__atomic_compare_exchange_n(&l->state, &zero, 1, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        textbook_lock_slow(l);
}

static inline void textbook_unlock(struct textbook_lock *l)
{
    if (__atomic_exchange_n(&l->state, 0, __ATOMIC_RELEASE) == 2)
        syscall(SYS_futex, &l->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* A recursive lock built the textbook way on it: owner + count. */
struct textbook_rlock {
    struct textbook_lock lock;
    unsigned count;              /* touched only by the owner */
    uintptr_t owner;             /* relaxed atomics: read by non-owners */
};

static inline uintptr_t textbook_self(void)
{
    static _Thread_local char me;
    return (uintptr_t)&me;
}

static inline void textbook_rlock(struct textbook_rlock *r)
{
    uintptr_t me = textbook_self();
    if (__atomic_load_n(&r->owner, __ATOMIC_RELAXED) == me) {
        r->count++;
        return;
    }
    textbook_lock(&r->lock);
    __atomic_store_n(&r->owner, me, __ATOMIC_RELAXED);
    r->count = 1;
}

static inline void textbook_runlock(struct textbook_rlock *r)
{
    if (--r->count == 0) {
        __atomic_store_n(&r->owner, 0, __ATOMIC_RELAXED);
        textbook_unlock(&r->lock);
    }
}

#endif
