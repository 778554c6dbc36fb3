/* cthreading — wait on address: the layer every primitive is built on.
 *
 * A thread blocks while a 32-bit word holds an expected value, until another
 * thread wakes the address.  Backed by Linux futexes, Windows WaitOnAddress,
 * or a portable parking table (chosen when the library is built).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_WAIT_H
#define CTHREADING_WAIT_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Blocks the caller while *addr == expected.
 *
 * addr:       a 4-byte aligned word, written by other threads with atomic
 *             stores (the word is read atomically here).
 * expected:   the value the caller last saw; if *addr differs on entry the
 *             call returns at once.
 * timeout_ns: relative timeout in ns (CT_FOREVER, 0, or up to CT_TIMEOUT_MAX).
 *
 * Returns CT_OK when woken, when *addr != expected, or spuriously (callers
 * re-check their condition in a loop); CT_ETIMEDOUT when the timeout expired;
 * CT_EINVAL for a negative timeout other than CT_FOREVER; CT_EOVERFLOW for a
 * timeout above CT_TIMEOUT_MAX.  The check of *addr and the sleep are atomic
 * with respect to ct_wake_one/ct_wake_all: a wake issued after the value was
 * changed cannot be missed. */
CT_API int ct_wait(const uint32_t *addr, uint32_t expected, int64_t timeout_ns);

/* Wakes at most one thread blocked in ct_wait on addr (if any).
 * Cheap when nobody waits, but still a system call on some backends: callers
 * track whether waiters exist.  Never fails. */
CT_API void ct_wake_one(const uint32_t *addr);

/* Wakes every thread blocked in ct_wait on addr.  Never fails. */
CT_API void ct_wake_all(const uint32_t *addr);

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_WAIT_H */
