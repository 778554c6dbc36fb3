/* Wait backend: Linux futexes.
 *
 * Private futexes, except for words inside a region of shared memory
 * (internal/shm.h: one relaxed load decides while no region is mapped), and
 * FUTEX_WAIT_BITSET so the kernel takes an *absolute* CLOCK_MONOTONIC
 * deadline: a wait interrupted by a signal (EINTR) is simply repeated with the
 * same deadline, so signals cannot make it drift.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "wait.h"
#include "../internal/fatal.h"
#include "../internal/platform.h"
#include "../internal/shm.h"

static long futex(const uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
    if (!ct__shm_contains(addr))
        op |= FUTEX_PRIVATE_FLAG;
    return syscall(SYS_futex, addr, op, val, ts, NULL, FUTEX_BITSET_MATCH_ANY);
}

bool ct__wait_can_share(void) { return true; }

int ct__wait_until(const uint32_t *addr, uint32_t expected, int64_t deadline)
{
    struct timespec ts, *tsp = NULL;

    if (deadline != CT__NO_DEADLINE) {
        ts = ct__timespec_from_ns(deadline);
        tsp = &ts;
    }
    for (;;) {
        if (futex(addr, FUTEX_WAIT_BITSET, expected, tsp) == 0)
            return CT_OK;
        switch (errno) {
        case EAGAIN:            /* *addr != expected on entry */
            return CT_OK;
        case EINTR:             /* a signal: wait again for the same deadline */
            continue;
        case ETIMEDOUT:
            return CT_ETIMEDOUT;
        default:
            ct__fatal("futex(FUTEX_WAIT_BITSET)", errno);
        }
    }
}

void ct_wake_one(const uint32_t *addr)
{
    if (futex(addr, FUTEX_WAKE, 1, NULL) < 0)
        ct__fatal("futex(FUTEX_WAKE)", errno);
}

void ct_wake_all(const uint32_t *addr)
{
    if (futex(addr, FUTEX_WAKE, INT_MAX, NULL) < 0)
        ct__fatal("futex(FUTEX_WAKE)", errno);
}

/* The kernel keeps the waiters: nothing to do around fork(). */
void ct__wait_fork_prepare(void) {}
void ct__wait_fork_parent(void) {}
void ct__wait_fork_child(void) {}
