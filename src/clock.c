/* The public clock and sleep.
 *
 * ct_sleep waits on a word of its own stack frame that nobody wakes, through
 * the wait layer: the backend already re-waits against one absolute
 * deadline after signals, and the loop here covers spurious wake-ups.
 *
 * SPDX-License-Identifier: MIT
 */
#include "cthreading/clock.h"
#include "internal/clock.h"
#include "platform/os.h"
#include "wait/wait.h"

int64_t ct_now_ns(void)
{
    return ct__now_ns();
}

int ct_sleep(int64_t ns)
{
    uint32_t never = 0;
    int64_t deadline;
    int rc;

    if ((rc = ct__deadline_after(ns, &deadline)) != CT_OK)
        return rc;
    if (ns == 0) {
        ct__os_yield();
        return CT_OK;
    }
    while (ct__wait_until(&never, 0, deadline) != CT_ETIMEDOUT)
        ;
    return CT_OK;
}
