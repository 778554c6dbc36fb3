/* The bits of Barrier's state word (ct_barrier_t.state), named once: for
 * src/barrier.c, the white-box tests and test/model/tie.sh (which checks that
 * test/model/barrier.pml uses the same values).  The protocol is described
 * at the top of src/barrier.c.
 *
 *   bits 0-15   count (COUNT_MASK): arrivals of the current generation that
 *               have not left
 *   bit 16      PARKED: some thread may sleep on the word (or did)
 *   bits 17-18  phase (PHASE_MASK): FILLING 0, RESETTING 1, BROKEN 2
 *   bits 19-31  generation (GEN_MASK), +GEN_ONE per release; wraps
 *
 * Short names: include it only in a file about the Barrier word.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_BARRIER_WORD_H
#define CT_INTERNAL_BARRIER_WORD_H

#include <stdint.h>

#define COUNT_MASK  UINT32_C(0xFFFF)
#define PARKED      (UINT32_C(1) << 16)
#define FILLING     (UINT32_C(0) << 17)
#define RESETTING   (UINT32_C(1) << 17)
#define BROKEN      (UINT32_C(2) << 17)
#define PHASE_MASK  (UINT32_C(3) << 17)
#define GEN_ONE     (UINT32_C(1) << 19)
#define GEN_MASK    (~(GEN_ONE - 1))

#endif /* CT_INTERNAL_BARRIER_WORD_H */
