/* The calling thread's ct_thread_ident(), inline: one thread-local load on
 * every call after a thread's first (the owner checks of RLock and the
 * services sit on hot paths and should not call into another translation
 * unit for it).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_IDENT_H
#define CT_INTERNAL_IDENT_H

#include <stdint.h>

#include "cthreading/thread.h"

/* Same value as ct_thread_ident(): on ELF thread.h's inline twin (one load
 * of the exported ct_thread_self_), elsewhere the exported call. */
static inline uint64_t ct__thread_ident(void)
{
    return ct_thread_ident();
}

#endif /* CT_INTERNAL_IDENT_H */
