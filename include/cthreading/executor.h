/* cthreading — Executor: concurrent.futures.ThreadPoolExecutor and Future.
 *
 * A pool of worker threads that runs submitted calls and reports their
 * results through futures.  Workers start on demand, at most max_workers of
 * them; a submit never waits behind a running task (it hands the task to an
 * idle worker, or starts a new one while fewer than max_workers exist).
 * Beyond CPython: a per-worker finalizer and an idle timeout, so that a
 * thread-affine resource created by the initializer on the worker thread is
 * also destroyed there, and an idle pool gives its threads (and resources)
 * back; the next submit starts a fresh worker.
 *
 * Resources: ct_executor_init allocates the worker table (one slot per
 * possible worker); workers are threads the executor starts and joins.
 * ct_executor_destroy releases everything.  A ct_future_t is caller-owned
 * storage: submitting allocates nothing per task.
 *
 * Lifetime of a future: from ct_executor_submit until ct_future_done(f) is
 * true (or ct_future_wait/ct_future_result returned CT_OK or CT_ECANCELLED,
 * or ct_future_cancel returned true) the executor uses *f: keep it valid and
 * do not submit it again.  Once done, the executor never touches it again
 * (its done callbacks have run), so it may be freed or submitted anew.
 *
 * Memory order: everything the task did happens-before the return of a
 * ct_future_result / ct_future_wait that sees it done, and before its done
 * callbacks; everything before a submit happens-before the task.
 *
 * Worker names, as CPython's: "<prefix>_<i>", i the worker's slot
 * (0 .. max_workers-1; a worker started after an idle one retired takes the
 * free slot's number); with no prefix, "ThreadPoolExecutor-<n>_<i>", n
 * counting the executors of the process from 0.  The OS thread name is the
 * same (truncated where the OS limits it, 15 bytes on Linux).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_EXECUTOR_H
#define CTHREADING_EXECUTOR_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options of ct_executor_init; zero = CPython's defaults. */
typedef struct ct_executor_options {
    unsigned max_workers;          /* 0 = min(32, CPUs + 4), as CPython */
    int64_t idle_timeout_ns;       /* 0 or CT_FOREVER = workers never retire; else ns */
    void (*initializer)(void *);   /* run on each worker thread before its first task */
    void (*finalizer)(void *);     /* run on each worker thread before it exits */
    void *init_arg;                /* argument of both */
    const char *thread_name_prefix; /* CPython's prefix for "prefix_N" names; may be NULL */
} ct_executor_options_t;

#define CT_FUTURE_MAX_CALLBACKS 4   /* CT_FUTURE_INIT lists this many */

/* A future: the result of one submitted call.  Caller-owned storage; valid
 * when zero-initialised (CT_FUTURE_INIT: a future never submitted).  Opaque:
 * the library alone reads and writes it.  136 bytes, aligned for 64-bit
 * words. */
typedef struct ct_future {
    uint64_t opaque_[17];
} ct_future_t;

#define CT_FUTURE_INIT { { 0 } }

/* An executor: caller-owned storage, set up by ct_executor_init.  Opaque:
 * the library alone reads and writes it.  256 bytes, aligned for 64-bit
 * words. */
typedef struct ct_executor {
    uint64_t opaque_[32];
} ct_executor_t;

/* Makes ex a new executor with no worker yet — ThreadPoolExecutor(
 * max_workers, thread_name_prefix, initializer, initargs).
 * opts: may be NULL (all defaults); copied (the prefix string is not: it
 *       must outlive the executor).
 * Returns CT_OK; CT_EINVAL for a negative or too large idle timeout
 * (CT_EOVERFLOW above CT_TIMEOUT_MAX); CT_ENOMEM if the worker table could
 * not be allocated.  On error ex is left unusable (destroy is not needed).
 * ex must not be in use. */
CT_API int ct_executor_init(ct_executor_t *ex, const ct_executor_options_t *opts);

/* Schedules fn(arg) to run on a worker — ThreadPoolExecutor.submit(fn, arg).
 * f:  caller-owned future, zero-initialised or done; it receives the result.
 * fn: the call (not NULL); its return value becomes the future's result.
 * Never blocks behind a running task: an idle worker takes the task at once,
 * or a new worker is started while fewer than max_workers exist (otherwise
 * the task waits in FIFO order for the first worker free).
 * Returns CT_OK; CT_ESHUTDOWN after ct_executor_shutdown; CT_EAGAIN if no
 * worker exists and none could be started; CT_ENOMEM if the task list could
 * not grow; CT_EBUSY if f is still pending or running (submitted and not
 * done); CT_EINVAL for an executor that was not initialised.  On an error f
 * and ex are unchanged.  Any thread may call it, also a task or a done
 * callback. */
CT_API int ct_executor_submit(ct_executor_t *ex, ct_future_t *f, void *(*fn)(void *), void *arg);

/* Shuts the executor down — ThreadPoolExecutor.shutdown(wait, cancel_futures).
 * Later submits fail with CT_ESHUTDOWN.  cancel_futures: every future still
 * queued (not running) is cancelled, its done callbacks run on this thread;
 * otherwise the queued tasks still run.  wait: returns only once every
 * worker has finished (tasks done, finalizers run, threads joined); a task
 * that calls it with wait = true does not wait for its own worker.  Idle
 * workers exit at once.  May be called more than once and from several
 * threads.  Returns CT_OK, or CT_EINVAL for an executor not initialised. */
CT_API int ct_executor_shutdown(ct_executor_t *ex, bool wait, bool cancel_futures);

/* Releases the executor: joins the workers and frees the worker table.
 * Returns CT_OK; CT_EBUSY (nothing changed) unless it was shut down and no
 * future of it is pending or running; CT_EDEADLK (nothing changed) when
 * called on one of its own worker threads (from a task or a done callback
 * running there); CT_EINVAL if not initialised. */
CT_API int ct_executor_destroy(ct_executor_t *ex);

/* Cancels the call if it has not started — Future.cancel().  O(1).
 * Returns true if fn will never run: the future was pending (it is now
 * cancelled and done; its done callbacks have run, on this thread, before
 * the return) or already cancelled, or never submitted (it is then marked
 * cancelled).  Returns false if the call is running or finished.  Any
 * thread may call it. */
CT_API bool ct_future_cancel(ct_future_t *f);

/* True once the future finished or was cancelled and its done callbacks
 * have run — Future.done().  Inside one of its own done callbacks, true. */
CT_API bool ct_future_done(ct_future_t *f);

/* True if the future was cancelled — Future.cancelled(). */
CT_API bool ct_future_cancelled(ct_future_t *f);

/* Waits until the future is done — concurrent.futures.wait([f], timeout).
 * timeout_ns: relative ns, CT_FOREVER, or 0 (poll).  Returns CT_OK (done:
 * finished or cancelled), CT_ETIMEDOUT, or CT_EINVAL / CT_EOVERFLOW for a bad
 * timeout; CT_EINVAL for a future never submitted (it would never be done). */
CT_API int ct_future_wait(ct_future_t *f, int64_t timeout_ns);

/* Waits for the call's result — Future.result(timeout).
 * out: receives fn's return value (written only on CT_OK).
 * Returns CT_OK; CT_ETIMEDOUT; CT_ECANCELLED if the future was cancelled;
 * CT_EINVAL / CT_EOVERFLOW for a bad timeout; CT_EINVAL for a future never
 * submitted. */
CT_API int ct_future_result(ct_future_t *f, void **out, int64_t timeout_ns);

/* Adds a done callback — Future.add_done_callback(fn).
 * cb(f, arg) runs once the future is done: on the thread that completes it
 * (the worker, or the thread whose cancel or shutdown cancelled it), or at
 * once on this thread if it is already done.  Callbacks run in the order
 * they were added.  At most CT_FUTURE_MAX_CALLBACKS can wait for one
 * submission (one added once the future is done runs at once and is not
 * counted).  A callback may read the result and may submit new work.
 * Returns CT_OK; CT_EOVERFLOW if the future already holds
 * CT_FUTURE_MAX_CALLBACKS callbacks (nothing added); CT_EINVAL for a NULL cb
 * or a future never submitted. */
CT_API int ct_future_add_done_callback(ct_future_t *f, void (*cb)(ct_future_t *, void *),
                                       void *arg);

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_EXECUTOR_H */
