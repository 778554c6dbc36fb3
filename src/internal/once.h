/* ct__once: the library's own one-time initialisations, on ct_once's word.
 *
 * State word (ct_once_t.state), driven by src/once.c:
 *   CT__ONCE_IDLE    0  fn has not run, or its last run failed
 *   CT__ONCE_RUNNING 1  one caller runs fn, nobody waits
 *   CT__ONCE_WAITED  2  one caller runs fn, others sleep on the word
 *   CT__ONCE_DONE    3  fn returned 0; final
 * The runner leaves RUNNING/WAITED with an exchange (release), so it knows
 * whether anyone sleeps: no wake-up syscall when nobody waits.  A sleeper
 * sets WAITED before it sleeps on that value, so the runner's exchange either
 * sees WAITED (and wakes) or happens before the sleeper's CAS (which then
 * fails and the sleeper re-reads): no lost wake-up.  DONE is published with
 * release and read with acquire, so what fn wrote is visible to every caller
 * that sees DONE.
 *
 * Fork: a child forked while another thread runs fn would find the word
 * RUNNING forever.  A service whose fork handler takes a lock therefore calls
 * ct__once with that lock held (prepare cannot then run while fn does).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_ONCE_H
#define CT_INTERNAL_ONCE_H

#include <stdint.h>

#include "cthreading/once.h"
#include "atomic.h"
#include "platform.h"

enum {
    CT__ONCE_IDLE = 0,
    CT__ONCE_RUNNING = 1,
    CT__ONCE_WAITED = 2,
    CT__ONCE_DONE = 3,
};

/* ct_once with its fast path inline (one acquire load once fn succeeded):
 * runs fn(arg) once per process until it returns 0; returns CT_OK when it
 * has, else fn's code from this caller's run (and a later call retries). */
static inline int ct__once(ct_once_t *o, int (*fn)(void *), void *arg)
{
    if (CT__LIKELY(ct__load_acquire(CT__A32(&o->state)) == CT__ONCE_DONE))
        return CT_OK;
    return ct_once(o, fn, arg);
}

#endif /* CT_INTERNAL_ONCE_H */
