/* cthreading — shared memory: the primitives across processes (multiprocessing).
 *
 * A ct_shm_t maps a block of memory that several processes share: created
 * anonymous (shared with the children of later fork() calls) or by name
 * (any process may open it with ct_shm_open, as Python's
 * multiprocessing.shared_memory.SharedMemory(name)).  Every Lock, RLock,
 * Condition, Semaphore, BoundedSemaphore, Event and Barrier placed inside
 * [ct_shm_base(r), ct_shm_base(r) + ct_shm_size(r)) works between all the
 * processes that mapped the region, at whatever address each mapped it, with
 * the usual zero-initialisation and no other API: the library knows which
 * address ranges are regions and uses the operating system's process-shared
 * waits for them (on their slow paths only; the fast paths are unchanged).
 *
 * Inside a region:
 *  - an RLock's owner is a process and a thread, unique across processes;
 *    an acquire that takes over an RLock whose owner *process* died holding
 *    it returns CT_EOWNERDEAD (the caller then holds it once; the data it
 *    guarded may be half-updated).  Found within ~50 ms of the death by a
 *    waiter that sleeps on it.  Not detected: a death in the few instructions
 *    between taking the lock word and writing the owner (or between clearing
 *    the owner and freeing the word); a thread that exits holding an RLock
 *    while its process lives on; a dead owner whose process id was reused.
 *  - a Lock has no owner word, so a process that dies holding one is not
 *    detected: its waiters wait until their timeout (use an RLock, or
 *    ct_lock_acquire_timed, where a peer may be killed).
 *  - a Condition must be bound to a Lock or RLock in the same region (or be
 *    zero-initialised: its own RLock); it keeps no pointers, and its notify
 *    may wake more threads than asked (the waiters re-check; CPython allows
 *    that too), but never fewer.  A notification is never lost.
 *  - a Barrier's action is a function pointer: it is valid only in processes
 *    that share the program image (fork); pass NULL between unrelated
 *    programs.
 *  - Timer, local, GIL, executor and the pointer queue ct_queue_t are per
 *    process: their init calls return CT_EINVAL for an object placed inside a
 *    region.  Pass data with ct_shm_queue_t (<cthreading/shm_queue.h>), which
 *    copies bytes in and out.
 *
 * Platforms: Linux (process-shared futexes).  Where a cross-process wait
 * cannot be built with the selected wait backend — Windows (WaitOnAddress
 * works within one process only) and the portable parking backend (its
 * table lives in each process) — ct_shm_create and ct_shm_open return
 * CT_ENOTSUP and nothing is mapped.
 *
 * A region stays mapped until ct_shm_close; at most CT_SHM_MAX regions are
 * mapped in a process at once.  Closing a region while a thread of this
 * process still uses an object in it is undefined, as freeing memory in use.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_SHM_H
#define CTHREADING_SHM_H

#include <stddef.h>
#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most regions one process has mapped at once. */
#define CT_SHM_MAX 64

/* A mapped region: caller-owned; zero it or fill it with ct_shm_create or
 * ct_shm_open.  The fields are private. */
typedef struct ct_shm {
    void *base_;
    size_t size_;
    size_t mapped_;
    int slot_;
    int reserved_;
} ct_shm_t;

/* Creates a region of `size` usable bytes, zero-filled, and maps it —
 * SharedMemory(create=True, size=size).
 * name: NULL for an anonymous region, shared with the children of every
 * later fork(); otherwise "/name" as shm_open takes it (a slash, then 1..250
 * characters none of which is a slash), which other processes open with
 * ct_shm_open until someone calls ct_shm_unlink.
 * Returns CT_OK; CT_EINVAL (size 0, a bad name); CT_EBUSY (a region of that
 * name exists; nothing changes); CT_EAGAIN (too many open files or mapped
 * regions); CT_ENOMEM (no memory or space for the region); CT_EPERM (the
 * system refused access); CT_ENOTSUP (no cross-process waits on this
 * platform or backend).  On an error nothing is left behind (a named
 * region that was created is unlinked again) and *r is unchanged. */
CT_API int ct_shm_create(ct_shm_t *r, const char *name, size_t size);

/* Maps the existing region `name` — SharedMemory(name).  Its size is the
 * size it was created with.  Returns CT_OK; CT_EINVAL (a bad name, or no
 * region of that name); CT_EAGAIN, CT_ENOMEM, CT_EPERM, CT_ENOTSUP as for
 * ct_shm_create.  On an error *r is unchanged. */
CT_API int ct_shm_open(ct_shm_t *r, const char *name);

/* The first usable byte (aligned to at least 64 bytes) and the number of
 * usable bytes; NULL and 0 for a zeroed or closed handle. */
CT_API void *ct_shm_base(const ct_shm_t *r);
CT_API size_t ct_shm_size(const ct_shm_t *r);

/* Unmaps the region in this process — SharedMemory.close().  Other
 * processes keep their mappings; a named region lives on until unlinked and
 * unmapped everywhere.  Returns CT_OK, or CT_EINVAL if r is not mapped
 * (zeroed or closed already: nothing happens). */
CT_API int ct_shm_close(ct_shm_t *r);

/* Removes the name — SharedMemory.unlink(): later ct_shm_open calls fail,
 * existing mappings stay valid.  Returns CT_OK, CT_EINVAL (bad name or no
 * such region), CT_EPERM, or CT_ENOTSUP. */
CT_API int ct_shm_unlink(const char *name);

/* True if p lies inside a region mapped in this process. */
CT_API bool ct_shm_contains(const void *p);

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_SHM_H */
