/* The internal wait contract: the three calls every primitive is built on.
 *
 * Exactly one backend implements it (CMake compiles one of futex.c, win32.c,
 * parking.c); ct_wake_one / ct_wake_all are the public symbols themselves.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_WAIT_WAIT_H
#define CT_WAIT_WAIT_H

#include <stdbool.h>
#include <stdint.h>
#include "cthreading/wait.h"
#include "../internal/clock.h"

/* Blocks while *addr == expected (read atomically), until a wake on addr or
 * until the monotonic clock reaches deadline (absolute ns; CT__NO_DEADLINE for
 * none).  Returns CT_OK (woken, value differed, or spuriously — callers loop)
 * or CT_ETIMEDOUT (deadline reached).  Signals never end the wait early: the
 * backend re-waits against the same deadline.  The comparison and the sleep
 * are atomic with respect to ct_wake_one / ct_wake_all on the same address. */
int ct__wait_until(const uint32_t *addr, uint32_t expected, int64_t deadline);

/* True if this backend's waits and wakes reach other processes for words in
 * memory they share (and ct__wait_until / ct_wake_* pick the process-shared
 * kind for addresses inside a region, internal/shm.h).  The futex backend
 * can; WaitOnAddress and the parking table cannot. */
bool ct__wait_can_share(void);

/* fork() hooks of the backend, run by src/fork.c: prepare after every
 * service's prepare (taking a service lock may sleep here), parent and child
 * before the services' own (their child hooks may wake).  A backend that
 * keeps process-wide state (the parking table) stops every thread from
 * changing it across the fork and gives the child an empty one: the child
 * has no parked thread.  No-ops where the kernel keeps the waiters. */
void ct__wait_fork_prepare(void);
void ct__wait_fork_parent(void);
void ct__wait_fork_child(void);

#endif /* CT_WAIT_WAIT_H */
