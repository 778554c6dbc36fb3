/* ThreadSanitizer annotations for the library's home-made locks.
 *
 * With -fsanitize=thread, Lock, RLock, Condition's lock and the GIL describe
 * themselves to TSan through its mutex interface, so TSan reports lock-order
 * inversions ("potential deadlock") and unlocks of unlocked locks for them
 * exactly as it does for pthread mutexes.  Without TSan — or when the build
 * defines CT_NO_TSAN_ANNOTATIONS, which the test command uses for one TSan run
 * because the annotations add happens-before edges of their own that would
 * hide an ordering bug inside a primitive — every macro is empty: zero cost.
 *
 * Usage, for a lock object `m` (any stable address):
 *   acquire:  CT__TSAN_PRE_LOCK(m, flags); ...take it...; CT__TSAN_POST_LOCK(m, flags, rec)
 *             a try-lock passes CT__TSAN_TRY, and on failure CT__TSAN_TRY_FAILED
 *             in the post flags; `rec` is the recursion count taken (1 normally)
 *   release:  CT__TSAN_PRE_UNLOCK(m, flags); ...free it...; CT__TSAN_POST_UNLOCK(m, flags)
 *             an RLock releasing all its levels passes CT__TSAN_RECURSIVE_UNLOCK
 *             and receives the count from PRE_UNLOCK (see the TSan interface)
 * Objects are zero-initialised, so there is no create call: TSan learns about
 * a mutex at its first lock.  CT__TSAN_DESTROY(m) tells TSan the memory is
 * being reused (objects that own resources call it in their destroy).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_TSAN_H
#define CT_INTERNAL_TSAN_H

#include "platform.h"

#if defined(CT__TSAN) && !defined(CT_NO_TSAN_ANNOTATIONS)
#define CT__TSAN_ANNOTATE 1

/* The interface of compiler-rt's tsan_interface.h, declared here because the
 * header's flag constants changed form between LLVM versions. */
void __tsan_mutex_create(void *addr, unsigned flags);
void __tsan_mutex_destroy(void *addr, unsigned flags);
void __tsan_mutex_pre_lock(void *addr, unsigned flags);
void __tsan_mutex_post_lock(void *addr, unsigned flags, int recursion);
int __tsan_mutex_pre_unlock(void *addr, unsigned flags);
void __tsan_mutex_post_unlock(void *addr, unsigned flags);

/* Flag values of the TSan mutex interface (stable since LLVM 5). */
#define CT__TSAN_LINKER_INIT      (1u << 0)
#define CT__TSAN_WRITE_REENTRANT  (1u << 1)
#define CT__TSAN_READ_REENTRANT   (1u << 2)
#define CT__TSAN_NOT_STATIC       (1u << 8)
#define CT__TSAN_READ_LOCK        (1u << 3)
#define CT__TSAN_TRY              (1u << 4)
#define CT__TSAN_TRY_FAILED       (1u << 5)
#define CT__TSAN_RECURSIVE_LOCK   (1u << 6)
#define CT__TSAN_RECURSIVE_UNLOCK (1u << 7)

#define CT__TSAN_CREATE(m, f)          __tsan_mutex_create((void *)(m), (f))
#define CT__TSAN_DESTROY(m)            __tsan_mutex_destroy((void *)(m), 0)
#define CT__TSAN_PRE_LOCK(m, f)        __tsan_mutex_pre_lock((void *)(m), (f))
#define CT__TSAN_POST_LOCK(m, f, rec)  __tsan_mutex_post_lock((void *)(m), (f), (rec))
#define CT__TSAN_PRE_UNLOCK(m, f)      __tsan_mutex_pre_unlock((void *)(m), (f))
#define CT__TSAN_POST_UNLOCK(m, f)     __tsan_mutex_post_unlock((void *)(m), (f))
#else
#define CT__TSAN_LINKER_INIT      0u
#define CT__TSAN_WRITE_REENTRANT  0u
#define CT__TSAN_READ_REENTRANT   0u
#define CT__TSAN_NOT_STATIC       0u
#define CT__TSAN_READ_LOCK        0u
#define CT__TSAN_TRY              0u
#define CT__TSAN_TRY_FAILED       0u
#define CT__TSAN_RECURSIVE_LOCK   0u
#define CT__TSAN_RECURSIVE_UNLOCK 0u
#define CT__TSAN_CREATE(m, f)          ((void)0)
#define CT__TSAN_DESTROY(m)            ((void)0)
#define CT__TSAN_PRE_LOCK(m, f)        ((void)0)
#define CT__TSAN_POST_LOCK(m, f, rec)  ((void)0)
#define CT__TSAN_PRE_UNLOCK(m, f)      0
#define CT__TSAN_POST_UNLOCK(m, f)     ((void)0)
#endif

#endif /* CT_INTERNAL_TSAN_H */
