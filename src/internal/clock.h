/* Monotonic clock and deadlines: the one helper every timed call uses.
 *
 * A timed call validates its relative timeout once, on entry, and turns it
 * into an absolute deadline once: ct__deadline_after does both, or, for a
 * call whose fast path must not read the clock, ct__timeout_check on entry
 * and ct__deadline_of after the fast path failed.  Every re-wait after a
 * spurious wake-up or a signal waits for the time that remains until that
 * same deadline, so nothing can shorten or lengthen the wait.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_CLOCK_H
#define CT_INTERNAL_CLOCK_H

#include <stdint.h>
#include <time.h>
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

/* The absolute deadline timeout_ns after now, saturating at CT__NO_DEADLINE
 * (the one saturating formula; timeout_ns >= 0, now from ct__now_ns). */
static inline int64_t ct__deadline_from(int64_t now, int64_t timeout_ns)
{
    return timeout_ns > CT__NO_DEADLINE - now ? CT__NO_DEADLINE : now + timeout_ns;
}

/* The deadline of a timeout that ct__timeout_check already accepted:
 * CT__NO_DEADLINE for CT_FOREVER, now + timeout otherwise (saturating).
 * Validates nothing, reads the clock only for a finite timeout: for the
 * calls that validate on entry and compute the deadline only once their
 * fast path failed. */
static inline int64_t ct__deadline_of(int64_t timeout_ns)
{
    return timeout_ns == CT_FOREVER ? CT__NO_DEADLINE
                                    : ct__deadline_from(ct__now_ns(), timeout_ns);
}

/* Validates timeout_ns (ct__timeout_check) and stores its deadline
 * (ct__deadline_of) in *deadline: the validator runs once.  Returns the
 * code of ct__timeout_check; *deadline is written only on CT_OK. */
static inline int ct__deadline_after(int64_t timeout_ns, int64_t *deadline)
{
    int rc = ct__timeout_check(timeout_ns);
    if (rc == CT_OK)
        *deadline = ct__deadline_of(timeout_ns);
    return rc;
}

/* A non-negative count of nanoseconds (an absolute CLOCK_MONOTONIC deadline,
 * or a duration) as a struct timespec, for the OS calls that take one. */
static inline struct timespec ct__timespec_from_ns(int64_t ns)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    return ts;
}

/* True once the monotonic clock has reached the deadline. */
static inline int ct__deadline_passed(int64_t deadline)
{
    return deadline != CT__NO_DEADLINE && ct__now_ns() >= deadline;
}

#endif /* CT_INTERNAL_CLOCK_H */
