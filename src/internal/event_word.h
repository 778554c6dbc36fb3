/* The bits of Event's state word (ct_event_t.state), named once: for
 * src/event.c and the white-box tests.  The protocol is described at the top
 * of src/event.c.
 *
 *   bit 0      SET      the flag
 *   bit 1      WAITERS  some thread may sleep on the word (or did)
 *   bits 2-31  generation: +GEN_ONE by every set that finds the flag clear
 *
 * Short names: include it only in a file about the Event word.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_EVENT_WORD_H
#define CT_INTERNAL_EVENT_WORD_H

#include <stdint.h>

#define SET      UINT32_C(1)
#define WAITERS  UINT32_C(2)
#define GEN_ONE  UINT32_C(4)
#define GEN_MASK (~(SET | WAITERS))

#endif /* CT_INTERNAL_EVENT_WORD_H */
