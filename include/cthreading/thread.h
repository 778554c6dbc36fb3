/* cthreading — threads (a minimal threading.Thread) and thread identity.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_THREAD_H
#define CTHREADING_THREAD_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A thread started by ct_thread_start.  Caller-owned; treat as opaque.  It
 * must stay valid from ct_thread_start until a ct_thread_join that returned
 * CT_OK. */
typedef struct ct_thread {
    uint64_t handle[2];          /* the OS thread handle */
    void (*fn)(void *);
    void *arg;
    uint32_t done;               /* 0 while running, 1 once fn returned */
    uint32_t joined;
} ct_thread_t;

/* Starts a new thread running fn(arg) — Thread(target=fn, args=(arg,)).start().
 * Returns CT_OK; CT_EAGAIN if the system lacks resources for another thread
 * (nothing started); CT_ENOMEM if memory ran out.  Every started thread must
 * be joined with ct_thread_join. */
CT_API int ct_thread_start(ct_thread_t *t, void (*fn)(void *), void *arg);

/* Waits for the thread to finish — Thread.join(timeout).
 * timeout_ns: relative, ns; CT_FOREVER waits without limit.
 * Returns CT_OK once it finished and its resources were released (t may then
 * be reused or freed); CT_ETIMEDOUT if it is still running (join again
 * later); CT_EINVAL / CT_EOVERFLOW for a bad timeout; CT_EPERM if t was
 * already joined.  Only one thread may join a given thread. */
CT_API int ct_thread_join(ct_thread_t *t, int64_t timeout_ns);

/* The calling thread's identifier — threading.get_ident().  Non-zero, works
 * for every thread (also those the library did not create) and is never
 * reused within the process, so it is safe to store as an owner id. */
CT_API uint64_t ct_thread_ident(void);

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_THREAD_H */
