/* RLock hooks for Condition: save and restore the whole ownership at once.
 *
 * Python's Condition.wait() calls RLock._release_save() and
 * RLock._acquire_restore(); these are the same two operations.  They exist
 * only for src/cond.c and are not exported.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_RLOCK_H
#define CT_INTERNAL_RLOCK_H

#include <stdint.h>
#include "cthreading/rlock.h"

/* Releases every level the caller holds and returns how many that was (>= 1).
 * The caller must own r (checked by the caller). */
uint32_t ct__rlock_release_save(ct_rlock_t *r);

/* Blocks until r is free, then owns it `count` times (count >= 1, the value
 * ct__rlock_release_save returned).  Returns CT_OK, or CT_EOWNERDEAD for an
 * RLock inside a region taken over from a dead process (owned all the same). */
int ct__rlock_acquire_restore(ct_rlock_t *r, uint32_t count);

#endif /* CT_INTERNAL_RLOCK_H */
