/* The bits of Semaphore's words (ct_sem_t.state and .bound), named once: for
 * src/sem.c and the white-box tests.  The protocol, and invariant (I) that
 * SLEEPERS is set only while the value is 0, are described at the top of
 * src/sem.c.
 *
 *   state  bits 0-62  the value (VALUE_MASK), 0 .. INT64_MAX
 *          bit 63     SLEEPERS: some thread may sleep on the semaphore
 *   bound  0 for an unbounded semaphore, BOUNDED | initial value otherwise
 *
 * Sleepers wait on the 32-bit half of `state` that holds bit 63: half
 * SLEEP_HALF_INDEX in memory, and by (I) that half is SLEEP_HALF_EXPECTED
 * while they sleep.
 *
 * Short names: include it only in a file about the Semaphore words.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_SEM_WORD_H
#define CT_INTERNAL_SEM_WORD_H

#include <stdint.h>

#include "platform.h"

#define SLEEPERS    (UINT64_C(1) << 63)
#define VALUE_MASK  (SLEEPERS - 1)
#define BOUNDED     (UINT64_C(1) << 63)
#define SLEEP_HALF_EXPECTED ((uint32_t)(SLEEPERS >> 32))
#define SLEEP_HALF_INDEX (CT__LITTLE_ENDIAN ? 1 : 0)

#endif /* CT_INTERNAL_SEM_WORD_H */
