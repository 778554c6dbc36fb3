/* cthreading — the library's monotonic clock and time.sleep.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_CLOCK_H
#define CTHREADING_CLOCK_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* time.monotonic_ns(): nanoseconds on the monotonic clock every timed call of
 * the library measures its deadlines on (CLOCK_MONOTONIC,
 * QueryPerformanceCounter).  Unaffected by wall-clock changes; the origin is
 * unspecified (differences are meaningful).  Any thread may call it. */
CT_API int64_t ct_now_ns(void);

/* time.sleep(ns): blocks the calling thread for at least ns nanoseconds of
 * the monotonic clock — never early: signals (EINTR) and spurious wake-ups
 * only make it sleep again for the time that remains.  0 yields the processor
 * once; CT_FOREVER sleeps forever.  Returns CT_OK, or CT_EINVAL / CT_EOVERFLOW
 * for a bad value, as for timeouts (nothing slept). */
CT_API int ct_sleep(int64_t ns);

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_CLOCK_H */
