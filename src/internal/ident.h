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
#include "platform.h"

/* The cache behind it, owned by src/thread.c: 0 until the thread's identity
 * is assigned (identities are never 0), then that identity. */
extern _Thread_local uint64_t ct__my_ident CT__TLS_INITIAL_EXEC;

/* Same value as ct_thread_ident(); assigns the identity on first use. */
static inline uint64_t ct__thread_ident(void)
{
    uint64_t id = ct__my_ident;
    if (CT__UNLIKELY(id == 0))
        id = ct_thread_ident();
    return id;
}

#endif /* CT_INTERNAL_IDENT_H */
