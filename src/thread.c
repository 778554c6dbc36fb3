/* Threads and thread identity, portable part.
 *
 * ct_thread_t.done is 0 while fn runs and 1 after it returned; joiners wait on
 * it through the wait layer, which gives join a timeout on every platform.
 * Once done is seen, the OS join only waits for the last few instructions of
 * the thread.  The thread may still touch *t after setting done (to wake the
 * joiner): that is safe because ct_thread_join does not return before the OS
 * join, i.e. before the thread has fully exited.
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>
#include <string.h>

#include "internal/atomic.h"
#include "internal/platform.h"
#include "platform/os.h"
#include "wait/wait.h"

/* Identities come from one process-wide counter and are never reused; 0
 * means "not yet assigned" (and is never handed out). */
static _Atomic uint64_t next_ident = 1;
static _Thread_local uint64_t my_ident;

uint64_t ct_thread_ident(void)
{
    uint64_t id = my_ident;
    if (CT__UNLIKELY(id == 0))
        my_ident = id = atomic_fetch_add_explicit(&next_ident, 1, memory_order_relaxed);
    return id;
}

void ct__thread_main(ct_thread_t *t)
{
    t->fn(t->arg);
    ct__store_release(CT__A32(&t->done), 1);
    ct_wake_all(&t->done);
}

int ct_thread_start(ct_thread_t *t, void (*fn)(void *), void *arg)
{
    assert(t != NULL && fn != NULL);
    memset(t, 0, sizeof *t);
    t->fn = fn;
    t->arg = arg;
    return ct__os_thread_create(t);
}

int ct_thread_join(ct_thread_t *t, int64_t timeout_ns)
{
    int64_t deadline;
    int rc;

    assert(t != NULL);
    if ((rc = ct__deadline_from_timeout(timeout_ns, &deadline)) != CT_OK)
        return rc;
    if (ct__load_relaxed(CT__A32(&t->joined)))
        return CT_EPERM;
    while (ct__load_acquire(CT__A32(&t->done)) == 0) {
        if (ct__wait_until(&t->done, 0, deadline) == CT_ETIMEDOUT &&
            ct__load_acquire(CT__A32(&t->done)) == 0)
            return CT_ETIMEDOUT;
    }
    ct__os_thread_join(t);
    ct__store_relaxed(CT__A32(&t->joined), 1);
    return CT_OK;
}
