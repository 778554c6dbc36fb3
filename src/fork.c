/* The one pthread_atfork registration of the library: see internal/fork.h
 * for the order in which services' locks are taken and why.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal/fork.h"
#include "internal/lock_word.h"
#include "internal/atomic.h"
#include "internal/platform.h"
#include "internal/shm.h"
#include "platform/os.h"
#include "wait/wait.h"

/* In the lock order of internal/fork.h. */
static const struct ct__fork_hooks *const services[] = {
    &ct__local_fork_hooks, &ct__timer_fork_hooks, &ct__gil_fork_hooks,
    &ct__thread_fork_hooks, &ct__shm_fork_hooks,
};
#define N_SERVICES (sizeof services / sizeof services[0])

static uint32_t registered;          /* 0 no, 1 registering, 2 done */

static void fork_prepare(void)
{
    for (size_t i = 0; i < N_SERVICES; i++)
        services[i]->prepare();
    ct__wait_fork_prepare();         /* innermost: the services' locks sleep there */
}

static void fork_parent(void)
{
    ct__wait_fork_parent();
    for (size_t i = N_SERVICES; i-- > 0;)
        services[i]->parent();
}

static void fork_child(void)
{
    ct__wait_fork_child();           /* before any service hook can wake */
    for (size_t i = N_SERVICES; i-- > 0;)
        services[i]->child();
}

void ct__fork_ready(void)
{
    _Atomic uint32_t *w = CT__A32(&registered);
    uint32_t s = ct__load_acquire(w);

    while (CT__UNLIKELY(s != 2)) {
        if (s == 0 && atomic_compare_exchange_strong_explicit(w, &s, 1, memory_order_acquire,
                                                              memory_order_acquire)) {
            ct__os_atfork(fork_prepare, fork_parent, fork_child);
            ct__store_release(w, 2);
            ct_wake_all(&registered);
            return;
        }
        if (s == 1)
            (void)ct__wait_until(&registered, 1, CT__NO_DEADLINE);
        s = ct__load_acquire(w);
    }
}

/* Registers at load time, while the process has one thread (see fork.h). */
CT__CONSTRUCTOR static void fork_register_at_load(void) { ct__fork_ready(); }

void ct__fork_child_unlock(ct_lock_t *l)
{
    /* Held by this thread since prepare; sleepers (vanished threads) are
     * forgotten, so the release below has nobody to wake. */
    ct__store_relaxed(CT__A32(&l->state), LOCKED);
    (void)ct_lock_release(l);
}

void ct__fork_child_keep_locked(ct_lock_t *l)
{
    ct__store_relaxed(CT__A32(&l->state), LOCKED);
}
