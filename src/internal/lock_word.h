/* The bits of Lock's state word (ct_lock_t.state), named once: for
 * src/lock.c, the after-fork helpers of src/fork.c and the white-box tests.
 * The protocol (transitions, the no-lost-wake-up argument, memory orders) is
 * described at the top of src/lock.c; test/model/tie.sh checks that these
 * values are the ones of the spin model test/model/lock.pml.
 *
 *   bit 0      LOCKED    the lock is held (or, with HANDOFF, being handed over)
 *   bit 1      WAKING    a woken sleeper has not come back yet
 *   bit 2      HANDOFF   LOCKED belongs to the next sleeper that comes back
 *   bit 3      STARVING  a sleeper waited too long: releases hand over
 *   bits 4-31  SLEEPERS  threads registered as (about to be) asleep
 *
 * Short names: include it only in a file about the Lock word.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_LOCK_WORD_H
#define CT_INTERNAL_LOCK_WORD_H

#include <stdint.h>

#define LOCKED      UINT32_C(1)
#define WAKING      UINT32_C(2)
#define HANDOFF     UINT32_C(4)
#define STARVING    UINT32_C(8)
#define ONE_SLEEPER UINT32_C(16)
#define SLEEPERS(s) ((s) >> 4)

#endif /* CT_INTERNAL_LOCK_WORD_H */
