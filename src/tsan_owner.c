/* TSan-only side table for Lock's annotations: which thread TSan believes
 * holds each lock, and whether the lock turned into a signalling lock.  The
 * design, the word's encoding and its limits are described in
 * src/internal/tsan_owner.h.  Compiles to nothing outside annotated TSan
 * builds.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal/tsan_owner.h"

#if defined(CT__TSAN_ANNOTATE)
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cthreading/thread.h"

void __tsan_acquire(void *addr);
void __tsan_release(void *addr);

#define SIGNAL     UINT64_C(1)
#define OWNER(s)   ((s) >> 1)
#define HELD_BY(t) ((t) << 1)

/* 16384 slots * 16 bytes = 256 KiB of zero pages, TSan builds only.  Linear
 * probing over at most PROBES slots; a lock that finds no slot is treated as
 * SIGNAL (never annotated), which can only lose reports. */
#define SLOTS_LOG2 14
#define SLOTS      (1u << SLOTS_LOG2)
#define PROBES     64

struct slot {
    _Atomic uintptr_t key;     /* lock address; 0 = free; never removed */
    _Atomic uint64_t state;    /* OWNER << 1 | SIGNAL, see tsan_owner.h */
};

static struct slot table[SLOTS];

/* The Lock call in progress on this thread (one at a time: Lock calls never
 * nest and never run user code). */
static _Thread_local struct {
    struct slot *slot;
    unsigned flags;
    bool bracketed;            /* pre_lock / pre_unlock called, post owed */
} in_call;

/* All table accesses are relaxed: TSan derives no happens-before from them. */
#define LOAD(p)          atomic_load_explicit((p), memory_order_relaxed)
#define CAS(p, e, v)     atomic_compare_exchange_strong_explicit( \
                             (p), (e), (v), memory_order_relaxed, memory_order_relaxed)

static struct slot *find(const void *lock)
{
    uintptr_t key = (uintptr_t)lock;
    uint32_t h = (uint32_t)(((uint64_t)key >> 2) * UINT64_C(0x9E3779B97F4A7C15) >> 40);

    for (unsigned i = 0; i < PROBES; i++) {
        struct slot *s = &table[(h + i) & (SLOTS - 1)];
        uintptr_t k = LOAD(&s->key);
        if (k == 0) {
            uintptr_t expected = 0;
            if (CAS(&s->key, &expected, key) || expected == key)
                return s;
            continue;
        }
        if (k == key)
            return s;
    }
    return NULL;
}

/* TSan keeps one sync object per address.  The lock word's own atomics live
 * at the lock's address; the mutex TSan is told about lives one byte further
 * and the explicit hand-off edge two bytes further.  Sharing one address is
 * wrong: a mutex unlock *stores* its clock into the sync object, overwriting
 * the clock a concurrent release of the lock word merged there, and the next
 * acquirer would miss that edge (a false race; test handoff_pingpong). */
static void *addr(const void *lock) { return (void *)((uintptr_t)lock + 1); }
static void *edge(const void *lock) { return (void *)((uintptr_t)lock + 2); }

/* If TSan still believes this thread holds a lock that another thread
 * released, give it back now, on this thread: a balanced unlock. */
static void return_phantom(struct slot *s, const void *lock, uint64_t me)
{
    uint64_t expected = HELD_BY(me) | SIGNAL;
    if (CAS(&s->state, &expected, SIGNAL)) {
        (void)__tsan_mutex_pre_unlock(addr(lock), 0);
        __tsan_mutex_post_unlock(addr(lock), 0);
    }
}

void ct__tsan_lock_pre_acquire(const void *lock, unsigned flags)
{
    struct slot *s = find(lock);
    uint64_t me = ct_thread_ident();

    in_call.slot = s;
    in_call.flags = flags;
    in_call.bracketed = false;
    if (s == NULL)
        return;
    return_phantom(s, lock, me);
    if (LOAD(&s->state) & SIGNAL)
        return;
    __tsan_mutex_pre_lock(addr(lock), flags);
    in_call.bracketed = true;
}

int ct__tsan_lock_post_acquire(const void *lock, int rc)
{
    struct slot *s = in_call.slot;
    uint64_t me, st;

    if (!in_call.bracketed)
        return rc;
    in_call.bracketed = false;
    if (rc != CT_OK) {
        __tsan_mutex_post_lock(addr(lock), in_call.flags | CT__TSAN_TRY_FAILED, 0);
        return rc;
    }
    me = ct_thread_ident();
    st = LOAD(&s->state);
    for (;;) {
        if (st & SIGNAL) {
            /* Turned SIGNAL while we waited inside the bracket, where TSan
             * ignored the lock word's atomics: end the bracket without a
             * hold and take the releaser's edge explicitly. */
            __tsan_mutex_post_lock(addr(lock), in_call.flags | CT__TSAN_TRY_FAILED, 0);
            __tsan_acquire(edge(lock));
            return rc;
        }
        if (CAS(&s->state, &st, HELD_BY(me))) {
            __tsan_mutex_post_lock(addr(lock), in_call.flags, 1);
            return rc;
        }
    }
}

void ct__tsan_lock_pre_release(const void *lock)
{
    struct slot *s = find(lock);
    uint64_t me = ct_thread_ident();
    uint64_t st;

    in_call.slot = s;
    in_call.bracketed = false;
    if (s == NULL)
        return;
    return_phantom(s, lock, me);
    st = LOAD(&s->state);
    while (!(st & SIGNAL)) {
        if (OWNER(st) == me) {
            /* The acquirer releases: a plain mutex unlock. */
            if (CAS(&s->state, &st, 0)) {
                (void)__tsan_mutex_pre_unlock(addr(lock), 0);
                in_call.bracketed = true;
                return;
            }
        } else if (CAS(&s->state, &st, st | SIGNAL)) {
            /* Another thread releases (or nobody holds it and the call will
             * fail): from now on a signalling lock. */
            break;
        }
    }
    return_phantom(s, lock, me);   /* went SIGNAL under us with us as holder */
    /* Every release of a SIGNAL lock also publishes its edge on edge(lock)
     * for acquirers that entered a pre_lock bracket before the switch (TSan
     * ignores the lock word's atomics there); everyone else takes the edge
     * from the lock word's release.  Merging every releaser is exact, not
     * extra: a lock's releases all happen before each later acquisition. */
    __tsan_release(edge(lock));
}

int ct__tsan_lock_post_release(const void *lock, int rc)
{
    if (in_call.bracketed) {
        in_call.bracketed = false;
        __tsan_mutex_post_unlock(addr(lock), 0);
    }
    if (rc == CT_EPERM) {
        /* The lock was not locked: make TSan say so, as for pthread.  This
         * thread does not hold it in TSan's books (an annotated unlock or
         * return_phantom above gave back any hold), so TSan reports. */
        (void)__tsan_mutex_pre_unlock(addr(lock), 0);
        __tsan_mutex_post_unlock(addr(lock), 0);
    }
    return rc;
}

#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int ct__tsan_owner_unused;
#endif
