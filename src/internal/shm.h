/* Regions of shared memory, as the primitives see them.
 *
 * The registry of mapped regions (src/shm.c) is a fixed table of [lo, hi)
 * address ranges.  Its readers are the wait layer's slow path (a shared or
 * a private futex?), RLock (which owner id?) and Condition (which waiter
 * queue?); each asks ct__shm_contains, which is one relaxed load of a
 * global counter while no region is mapped in the process — the common
 * case — and a scan of the used slots otherwise.
 *
 * Slots are claimed and freed by ct_shm_create/open/close only (under the
 * registry's lock); readers need no lock: a range is published before the
 * pointer to the region is returned, so any thread that has an address
 * inside it has also seen its range.  Each slot is a sequence lock (seq odd
 * while a writer changes lo and hi, +2 per change): a reader that loads hi
 * of one range and lo of the next one in the same slot — a close of an
 * unrelated region, or a reuse of its slot, between its two loads — sees
 * seq move and reads again.  Without it an address outside every region
 * could pass for inside for an instant, and an RLock there would run the
 * region's word protocol on the Lock's encoding (found by review in the
 * seventh session).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_SHM_H
#define CT_INTERNAL_SHM_H

#include <stdbool.h>
#include <stdint.h>

#include "cthreading/shm.h"
#include "atomic.h"
#include "platform.h"

struct ct__shm_range {
    _Atomic uintptr_t lo, hi;        /* [lo, hi); hi == 0: a free slot */
    _Atomic uint32_t seq;            /* odd while being written */
};

/* The table, and one more than the highest slot ever used (0: no region
 * was ever mapped in this process). */
extern struct ct__shm_range ct__shm_ranges[CT_SHM_MAX];
extern _Atomic uint32_t ct__shm_slots_used;

static inline bool ct__shm_contains(const void *p)
{
    uint32_t used = atomic_load_explicit(&ct__shm_slots_used, memory_order_acquire);
    uintptr_t a = (uintptr_t)p;

    for (uint32_t i = 0; i < used; i++) {
        struct ct__shm_range *r = &ct__shm_ranges[i];
        for (;;) {
            uint32_t s = atomic_load_explicit(&r->seq, memory_order_acquire);
            uintptr_t lo, hi;
            if (s & 1u) {
                ct__cpu_relax();                  /* a writer is in the middle */
                continue;
            }
            lo = atomic_load_explicit(&r->lo, memory_order_relaxed);
            hi = atomic_load_explicit(&r->hi, memory_order_relaxed);
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load_explicit(&r->seq, memory_order_relaxed) != s)
                continue;                         /* changed under us: again */
            if (a >= lo && a < hi)
                return true;
            break;
        }
    }
    return false;
}

/* The owner id of the calling thread for objects inside a region: its
 * process id above bit 40 and its ct_thread_ident() below, so it is unique
 * across the processes of one system, never 0, and never equal to a plain
 * ct_thread_ident() (bit 63 set).  Cached per thread; after fork() the
 * child's thread gets a new one (src/shm.c's fork hooks). */
extern _Thread_local uint64_t ct__shm_my_owner_id CT__TLS_INITIAL_EXEC;
uint64_t ct__shm_owner_id_first(void);

static inline uint64_t ct__shm_owner_id(void)
{
    uint64_t id = ct__shm_my_owner_id;
    return CT__LIKELY(id != 0) ? id : ct__shm_owner_id_first();
}

/* The process id inside an owner id. */
static inline uint64_t ct__shm_owner_pid(uint64_t owner)
{
    return (owner >> 40) & 0x7fffffu;
}

static inline bool ct__shm_is_owner_id(uint64_t v) { return (v >> 63) != 0; }

/* True if the process `pid` is known to have exited (a live process, or one
 * this process may not signal, is "not known dead"). */
bool ct__shm_pid_dead(uint64_t pid);


#endif /* CT_INTERNAL_SHM_H */
