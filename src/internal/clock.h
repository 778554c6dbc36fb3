/* Monotonic clock and deadlines: the one helper every timed call uses.
 *
 * A timed call validates its relative timeout and turns it into an absolute
 * deadline once, on entry (ct__deadline_from_timeout); every re-wait after a
 * spurious wake-up or a signal waits for the time that remains until that
 * same deadline, so nothing can shorten or lengthen the wait.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_CLOCK_H
#define CT_INTERNAL_CLOCK_H

#include <stdint.h>
#include "cthreading/base.h"

/* Absolute deadline meaning "never". */
#define CT__NO_DEADLINE INT64_MAX

/* Nanoseconds on the monotonic clock (CLOCK_MONOTONIC, QueryPerformanceCounter).
 * Implemented by the platform file (src/platform/). */
int64_t ct__now_ns(void);

/* Checks a relative timeout per the API contract: CT_OK, CT_EINVAL (negative
 * other than CT_FOREVER) or CT_EOVERFLOW (above CT_TIMEOUT_MAX). */
static inline int ct__timeout_check(int64_t timeout_ns)
{
    if (timeout_ns < 0 && timeout_ns != CT_FOREVER)
        return CT_EINVAL;
    if (timeout_ns > CT_TIMEOUT_MAX)
        return CT_EOVERFLOW;
    return CT_OK;
}

/* Validates timeout_ns and stores the absolute monotonic deadline in
 * *deadline: CT__NO_DEADLINE for CT_FOREVER, now + timeout otherwise,
 * saturating at CT__NO_DEADLINE.  Reads the clock only for a finite timeout.
 * Returns the code of ct__timeout_check; *deadline is written only on CT_OK. */
static inline int ct__deadline_from_timeout(int64_t timeout_ns, int64_t *deadline)
{
    int rc = ct__timeout_check(timeout_ns);
    if (rc != CT_OK)
        return rc;
    if (timeout_ns == CT_FOREVER) {
        *deadline = CT__NO_DEADLINE;
    } else {
        int64_t now = ct__now_ns();
        *deadline = timeout_ns > CT__NO_DEADLINE - now ? CT__NO_DEADLINE : now + timeout_ns;
    }
    return CT_OK;
}

/* True once the monotonic clock has reached the deadline. */
static inline int ct__deadline_passed(int64_t deadline)
{
    return deadline != CT__NO_DEADLINE && ct__now_ns() >= deadline;
}

#endif /* CT_INTERNAL_CLOCK_H */
