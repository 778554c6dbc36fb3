/* Wait backend: Windows 8+ WaitOnAddress / WakeByAddress*.
 *
 * WaitOnAddress takes a relative timeout in whole milliseconds; the backend
 * keeps the absolute monotonic deadline itself, rounds each remaining
 * interval *up* to the next millisecond (never wake early) and re-waits for
 * what remains after a spurious return.  Link with synchronization.lib.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>

#include "wait.h"

int ct__wait_until(const uint32_t *addr, uint32_t expected, int64_t deadline)
{
    for (;;) {
        DWORD ms = INFINITE;

        if (deadline != CT__NO_DEADLINE) {
            int64_t left = deadline - ct__now_ns();
            int64_t left_ms;
            if (left <= 0)
                return CT_ETIMEDOUT;
            left_ms = (left + 999999) / 1000000;              /* round up */
            ms = left_ms >= (int64_t)INFINITE ? INFINITE - 1 : (DWORD)left_ms;
        }
        if (WaitOnAddress((volatile VOID *)addr, &expected, sizeof expected, ms))
            return CT_OK;      /* woken, value differed, or spurious */
        if (GetLastError() != ERROR_TIMEOUT) {
            fprintf(stderr, "cthreading: WaitOnAddress failed: %lu\n", GetLastError());
            abort();
        }
        /* A millisecond timeout elapsed: loop to check the real deadline. */
    }
}

void ct_wake_one(const uint32_t *addr) { WakeByAddressSingle((PVOID)addr); }
void ct_wake_all(const uint32_t *addr) { WakeByAddressAll((PVOID)addr); }
