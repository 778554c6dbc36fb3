/* Wait backend: Windows 8+ WaitOnAddress / WakeByAddressSingle / All
 * (synchronization.lib, api-ms-win-core-synch-l1-2-0.dll).
 *
 * WaitOnAddress compares *addr with the expected value and sleeps atomically
 * with respect to WakeByAddress* on the same address — the contract of
 * ct__wait_until — but its timeout is relative, in whole milliseconds, and
 * measured on the tick-based interrupt clock, so it may end slightly before
 * our QueryPerformanceCounter deadline.  The backend therefore keeps the
 * absolute deadline itself: each sleep is the remaining time rounded *up* to
 * the next millisecond, and a timeout only counts once ct__now_ns() has
 * reached the deadline; otherwise it sleeps again for what remains.  Callers
 * never wake early; they may wake up to a scheduler tick late (~1–16 ms).
 *
 * WaitOnAddress also returns TRUE spuriously; ct__wait_until passes that on as
 * CT_OK, as its contract allows (callers re-check their word and loop).
 * Windows has no signals that interrupt a wait (APCs only reach alertable
 * waits, and WaitOnAddress is not alertable).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "wait.h"
#include "../internal/fatal.h"

/* Milliseconds to sleep for `left_ns` (> 0) of remaining time: rounded up,
 * so the sleep is never shorter than asked, and capped below INFINITE (a
 * deadline 49 days away is reached in several sleeps). */
static DWORD ms_rounded_up(int64_t left_ns)
{
    int64_t ms = left_ns / 1000000 + (left_ns % 1000000 != 0);
    return ms >= (int64_t)INFINITE ? INFINITE - 1 : (DWORD)ms;
}

int ct__wait_until(const uint32_t *addr, uint32_t expected, int64_t deadline)
{
    for (;;) {
        DWORD ms = INFINITE, err;

        if (deadline != CT__NO_DEADLINE) {
            int64_t left = deadline - ct__now_ns();
            if (left <= 0)
                return CT_ETIMEDOUT;
            ms = ms_rounded_up(left);
        }
        if (WaitOnAddress((volatile VOID *)addr, &expected, sizeof expected, ms))
            return CT_OK;      /* woken, value differed, or spurious */
        err = GetLastError();
        if (err != ERROR_TIMEOUT)
            ct__fatal("WaitOnAddress", (long)err);
        /* The millisecond sleep ended: loop to check the real deadline. */
    }
}

void ct_wake_one(const uint32_t *addr) { WakeByAddressSingle((PVOID)addr); }
void ct_wake_all(const uint32_t *addr) { WakeByAddressAll((PVOID)addr); }

/* The kernel keeps the waiters: nothing to do around fork(). */
void ct__wait_fork_prepare(void) {}
void ct__wait_fork_parent(void) {}
void ct__wait_fork_child(void) {}

/* No waits across processes: WaitOnAddress wakes threads of one process only. */
bool ct__wait_can_share(void) { return false; }
