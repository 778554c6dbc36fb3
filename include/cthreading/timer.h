/* cthreading — Timer: Python's threading.Timer without a thread per timer.
 *
 * A ct_timer_t is a caller-owned node.  Started timers wait in one
 * deadline-ordered heap served by a single timer service thread, which the
 * library starts on demand and which exits after a few idle seconds.  When a
 * timer is due, its function runs on a worker thread from a small pool that
 * grows while callbacks block (one slow callback never delays another timer)
 * and shrinks when idle.  10,000 pending timers cost 10,000 nodes, not 10,000
 * threads.
 *
 * Resources: a ct_timer_t owns nothing (no allocation per timer) and needs no
 * destroy.  The library owns the service thread, the worker threads and the
 * heap array (one pointer per pending timer); they are released by the
 * library itself when idle.  A node must stay valid (not freed, not reused)
 * while ct_timer_is_alive says true: cancel it and/or join it before freeing
 * it.  A callback therefore must not free its own timer.
 *
 * After fork() the child starts with no service and no workers; the parent's
 * pending timers never fire in the child (they read as cancelled there), and
 * callbacks that other threads were running are not running there (their
 * timers read as finished).  The child may call every timer function: start
 * timers of its own, restart, cancel and join the parent's.  fork() may be
 * called anywhere, also inside a callback: the child's forking thread then
 * finishes the callback normally (its timer stays alive until it returns,
 * and ct_timer_join of it from the callback is CT_EDEADLK) and afterwards
 * serves as a pool worker of the child.  The library's fork handlers take
 * the service lock before the fork (lock order: docs/fork.md), so the child
 * never inherits a half-updated heap or queue.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_TIMER_H
#define CTHREADING_TIMER_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One timer: caller-owned storage for a node of the timer service.  Valid
 * when zero-initialised (or CT_TIMER_INIT); opaque, the library alone reads
 * and writes it.  56 bytes on every platform, aligned for 64-bit words. */
typedef struct ct_timer {
    uint64_t opaque_[7];
} ct_timer_t;

#define CT_TIMER_INIT { { 0 } }

/* Arms the timer — threading.Timer(interval, fn, args).start().
 *
 * interval_ns: relative delay in ns, 0 .. CT_TIMEOUT_MAX; fn(arg) runs once,
 *              on a worker thread, no earlier than interval_ns from now.
 * fn, arg:     the function and its argument (fn must not be NULL).
 *
 * Returns CT_OK; CT_EINVAL for a negative interval; CT_EOVERFLOW for one above
 * CT_TIMEOUT_MAX; CT_EPERM if the timer is already pending; CT_ENOMEM or
 * CT_EAGAIN if the heap could not grow or the service thread could not be
 * started.  On every error nothing changes.
 *
 * A timer that ran or was cancelled may be started again (unlike a Python
 * Timer).  A timer whose function is running may be started again too — also
 * from inside its own callback — and stays alive throughout.  Any thread may
 * call it, including callbacks of any timer. */
CT_API int ct_timer_start(ct_timer_t *t, int64_t interval_ns, void (*fn)(void *), void *arg);

/* Stops a pending timer — Timer.cancel().  O(log n) in the pending timers.
 * Returns true iff the function will not run for the latest start: the timer
 * was pending (and now is not), was already cancelled, or was never started.
 * Returns false if the function has run, is running or has been handed to a
 * worker: racing the deadline, exactly one of "cancel returned true" and "fn
 * ran" happens.  Wakes ct_timer_join waiters when it cancels.  Any thread may
 * call it, including callbacks (also the timer's own). */
CT_API bool ct_timer_cancel(ct_timer_t *t);

/* Waits until the timer is no longer alive — Timer.join(timeout): its
 * function has returned or it was cancelled (a timer never started returns
 * at once).  timeout_ns: relative, ns; CT_FOREVER waits without limit.
 * Returns CT_OK; CT_ETIMEDOUT if still alive; CT_EINVAL / CT_EOVERFLOW for a
 * bad timeout; CT_EDEADLK when called from the timer's own running callback
 * (it would wait for itself).  The function's effects happen-before a
 * CT_OK return. */
CT_API int ct_timer_join(ct_timer_t *t, int64_t timeout_ns);

/* True from ct_timer_start until the function returned or the timer was
 * cancelled — Timer.is_alive().  A snapshot. */
CT_API bool ct_timer_is_alive(const ct_timer_t *t);

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_TIMER_H */
