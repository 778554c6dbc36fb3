/* cthreading — threading.Thread, current_thread(), active_count(), ...
 *
 * A ct_thread_t is a handle, like a reference to a Python Thread object:
 * copies (plain struct assignment) refer to the same thread, and every call
 * below may be made on any copy, from any thread.
 *
 * Lifetime (the release rule).  Each thread the library knows has a record
 * (name, flags, OS handle).  For a thread started by ct_thread_start(_ex), the
 * record is released once BOTH the thread has exited AND its handle was
 * released — by the first ct_thread_join that returns CT_OK (on any copy) or
 * by ct_thread_detach (on any copy), whichever comes first.  Every started
 * thread must be joined until CT_OK or detached, else its record and OS
 * thread stay (like pthread_join / pthread_detach).  Records of foreign
 * threads are released when those threads exit; the main thread's record
 * lives as long as the process (it counts as alive until the process ends).  Record memory is
 * returned to the library's pool, never to the system, and each carries the
 * thread's ident, which is never reused: so a handle whose record was
 * released is always safe to use and reads as an ended thread
 * (ct_thread_join → CT_OK at once, ct_thread_is_alive → false,
 * ct_thread_name → "", ct_thread_native_id → 0; ct_thread_ident_of still
 * gives its ident).  The pool holds at most as many records as threads were
 * alive (or unreleased) at once.
 *
 * "Ended" means: its function returned (ct_thread_is_alive turns false, it
 * leaves ct_thread_active_count and ct_threading_shutdown stops waiting for
 * it).  "Exited" means: its thread-exit destructors (ct_local_t values,
 * pthread keys) ran too and the OS thread is gone — what ct_thread_join
 * waits for, with its timeout honoured throughout.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_THREAD_H
#define CTHREADING_THREAD_H

#include <stddef.h>
#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A handle to a thread.  Treat as opaque; copy freely.  A zeroed handle
 * (CT_THREAD_INIT) refers to no thread. */
typedef struct ct_thread {
    void *rec;          /* the library's record of the thread */
    uint64_t ident;     /* its ct_thread_ident(), never reused */
} ct_thread_t;

#define CT_THREAD_INIT { CT__NULL, 0 }

/* Options of ct_thread_start_ex — Thread(name=, daemon=) and
 * threading.stack_size().  Zero-initialise and set what you need. */
typedef struct ct_thread_options {
    const char *name;   /* NULL: "Thread-N" (N counts from 1 per process,
                           shared with "Dummy-N", taken only by default names,
                           as CPython's); copied */
    bool daemon;        /* true: ct_threading_shutdown does not wait for it */
    size_t stack_size;  /* bytes; 0 = platform default; else rounded up to the
                           page (64 KiB on Windows); < 32 KiB → CT_EINVAL */
} ct_thread_options_t;

/* Starts a new thread running fn(arg) — Thread(target=fn, args=(arg,), name=,
 * daemon=).start().  opts may be NULL (all defaults).  On CT_OK, *t is the
 * handle (the thread already counts in ct_thread_active_count).  Returns
 * CT_EINVAL for a too-small stack size, CT_EAGAIN if the system lacks
 * resources for another thread, CT_ENOMEM if memory ran out; on error
 * nothing was started and *t is unchanged.  Any thread may call it. */
CT_API int ct_thread_start_ex(ct_thread_t *t, const ct_thread_options_t *opts,
                              void (*fn)(void *), void *arg);

/* ct_thread_start_ex(t, NULL, fn, arg). */
CT_API int ct_thread_start(ct_thread_t *t, void (*fn)(void *), void *arg);

/* Waits until the thread has exited — Thread.join(timeout).  May be called
 * any number of times, from several threads at once, on any copy of the
 * handle.  timeout_ns: relative, ns; CT_FOREVER waits without limit; 0 polls.
 * Returns CT_OK once the thread exited (its exit destructors included; the
 * first CT_OK of a started thread releases its handle, see above);
 * CT_ETIMEDOUT if it has not exited in time (nothing changed: join again);
 * CT_EINVAL / CT_EOVERFLOW for a bad timeout (checked first) or CT_EINVAL for
 * a handle that was never started; CT_EDEADLK if t is the calling thread.
 * Joining a foreign thread waits until it exits (the main thread: forever
 * or until the timeout). A
 * detached thread can still be joined (CT_OK once it exited). */
CT_API int ct_thread_join(const ct_thread_t *t, int64_t timeout_ns);

/* Releases the handle of a started thread without waiting — like
 * pthread_detach: its resources are freed when it exits.  Idempotent: later
 * calls (on any copy), and calls after a join returned CT_OK, do nothing.
 * Returns CT_OK, or CT_EINVAL for a never-started handle or a thread the
 * library did not start (main, foreign threads). */
CT_API int ct_thread_detach(const ct_thread_t *t);

/* The calling thread — threading.current_thread().  Works in every thread:
 * a thread the library did not start gets a record on its first call, named
 * "Dummy-N", counted by ct_thread_active_count until it exits (its record is
 * released at its exit); the process's first thread is "MainThread".  About
 * one thread-local load once the record exists.  Returns CT_OK; CT_ENOMEM if
 * a foreign thread's record could not be allocated, and CT_EINVAL when called
 * from a thread-exit destructor that runs after the library's own; in both
 * cases *out is set to CT_THREAD_INIT. */
CT_API int ct_thread_current(ct_thread_t *out);

/* The main thread — threading.main_thread(): the thread that loaded the
 * library (the process's first thread, for a normal program); after fork(),
 * the child's only thread, as CPython. */
CT_API void ct_thread_main(ct_thread_t *out);

/* The thread's name — Thread.name.  Never NULL ("" for a zeroed or released
 * handle).  The string stays valid until the thread's name is changed by
 * ct_thread_set_name or its record is released (see above). */
CT_API const char *ct_thread_name(const ct_thread_t *t);

/* Renames the thread — Thread.name = name.  The OS thread name is set too
 * while the thread runs (pthread_setname_np, truncated to 15 bytes at a UTF-8
 * boundary; SetThreadDescription on Windows 10+), so debuggers, top -H and
 * sanitizer reports show it.  name is copied.  Returns CT_OK; CT_EINVAL if
 * name is NULL or t refers to no record (never started, or released);
 * CT_ENOMEM (name unchanged).  Do not read the old name (ct_thread_name)
 * concurrently with this call: its storage is freed. */
CT_API int ct_thread_set_name(const ct_thread_t *t, const char *name);

/* Thread.ident: the thread's ct_thread_ident(), 0 for a zeroed handle.
 * Valid even after the record was released. */
CT_API uint64_t ct_thread_ident_of(const ct_thread_t *t);

/* Thread.native_id: the OS thread id (gettid on Linux, GetCurrentThreadId
 * on Windows).  For a thread just started, waits the few microseconds until
 * it has run far enough to know it.  0 for a zeroed or released handle. */
CT_API uint64_t ct_thread_native_id(const ct_thread_t *t);

/* threading.get_native_id(): the calling thread's OS thread id. */
CT_API uint64_t ct_thread_native_id_self(void);

/* Thread.is_alive(): true from ct_thread_start until the thread's function
 * returned; for foreign threads, until they exit; always for the main
 * thread (until the process ends).  False for a
 * zeroed or released handle. */
CT_API bool ct_thread_is_alive(const ct_thread_t *t);

/* Thread.daemon.  False for main and foreign threads and released handles. */
CT_API bool ct_thread_is_daemon(const ct_thread_t *t);

/* threading.active_count(): the live threads the library knows — started by
 * it and not ended, the main thread, registered foreign threads.  Exact at
 * the time of the call (the library's own service threads, e.g. the Timer's,
 * are not counted). */
CT_API unsigned ct_thread_active_count(void);

/* threading.enumerate(): calls fn(handle, arg) for each thread counted by
 * ct_thread_active_count, from a snapshot taken atomically (fn runs after the
 * snapshot, without library locks held, so it may call any function; a
 * thread may end meanwhile and then reads as ended).  Returns the number of
 * threads enumerated, or CT_ENOMEM (fn not called). */
CT_API int ct_thread_enumerate(void (*fn)(const ct_thread_t *t, void *arg), void *arg);

/* What CPython does at interpreter exit (threading._shutdown): waits until
 * every non-daemon thread started by the library has ended; daemon threads
 * are not waited for.  Threads started meanwhile are waited for too.
 * Returns CT_OK; CT_ETIMEDOUT; CT_EINVAL / CT_EOVERFLOW for a bad timeout;
 * CT_EDEADLK if the caller is itself a live non-daemon library thread. */
CT_API int ct_threading_shutdown(int64_t timeout_ns);

/* The calling thread's identifier — threading.get_ident().  Non-zero, works
 * for every thread (also those the library did not create, without giving
 * them a record) and is never reused within the process, so it is safe to
 * store as an owner id. */
CT_API uint64_t ct_thread_ident(void);

/* Inline twins of ct_thread_current and ct_thread_ident (same contracts):
 * one thread-local load each once the calling thread has its record or
 * ident, the exported call otherwise.  They read ct_thread_self_, the
 * library's own per-thread copy of the caller's handle ({NULL, 0} until the
 * library knows the thread; the ident may come before the record) — part of
 * the ABI on ELF platforms, read-only for users.  Initial-exec TLS: one load
 * relative to the thread pointer, also from shared objects (the library
 * already takes static TLS).  Compiled out when CT_NO_INLINE is defined,
 * on compilers without GNU C, and where the object format cannot export
 * thread-local data (PE/COFF: Windows DLLs). */
#if defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))
/* Exported; inside the library protected, so that with two copies of the
 * library in one process (a static one in the executable, another in a
 * plugin) each copy's own code keeps its own slot and ident counter. */
#  if defined(CT_BUILDING_LIBRARY)
#    define CT__TLS_API __attribute__((visibility("protected")))
#  else
#    define CT__TLS_API CT_API
#  endif
CT__TLS_API extern __thread ct_thread_t ct_thread_self_
    __attribute__((tls_model("initial-exec")));
#  if !defined(CT_NO_INLINE)
/* Inline twin of ct_thread_current (same contract): a copy of
 * ct_thread_self_ once the caller has a record, the exported call before. */
static inline int ct__thread_current_inline(ct_thread_t *out)
{
    if (__builtin_expect(ct_thread_self_.rec != CT__NULL, 1)) {
        *out = ct_thread_self_;
        return CT_OK;
    }
    return (ct_thread_current)(out);
}

/* Inline twin of ct_thread_ident (same contract): the cached ident, or the
 * exported call that assigns it on the thread's first use. */
static inline uint64_t ct__thread_ident_inline(void)
{
    uint64_t id = ct_thread_self_.ident;
    return __builtin_expect(id != 0, 1) ? id : (ct_thread_ident)();
}

#    define ct_thread_current(out) ct__thread_current_inline(out)
#    define ct_thread_ident()      ct__thread_ident_inline()
#  endif
#endif

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_THREAD_H */
