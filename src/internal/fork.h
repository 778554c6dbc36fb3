/* fork() support shared by the services that own process-wide state.
 *
 * One pthread_atfork registration (src/fork.c) serves every service.  Its
 * prepare handler takes each registered service's locks in the ONE order of
 * the list below, and the parent and child handlers run in the
 * reverse order; so no thread is inside a service's structure when the
 * process is copied, and the child inherits every structure whole (the only
 * thread it has is the forking one).
 *
 * Lock order (outermost first), the order prepare takes them in:
 *   1. Local: reg_lock (src/local.c).  Outermost because ct_local_foreach
 *      runs user code under it, which may start timers or take GIL
 *      bookkeeping locks.  A fork inside that user code is the one case where
 *      the forking thread already holds a service lock: the local prepare
 *      handler then leaves reg_lock as it is (see local.c).
 *   2. Timer: svc.lock (src/timer.c).  Callbacks run without it.
 *   3. GIL: registry_lock, then the queue_lock of every registered GIL in
 *      registry order (src/gil.c).  No library code runs under them.
 *   4. Thread registry: reg.lock (src/thread.c): taken under the others (a
 *      thread started from a foreach callback), never around them.
 *   5. Shared-memory registry: reg_lock (src/shm.c), innermost: held only
 *      while a range of the table is written (its readers take no lock).
 * No service takes a lock of a service above it while holding its own, so
 * prepare cannot deadlock against a running thread.
 *
 * The handler is registered by a constructor of src/fork.c, i.e. before
 * main (or at dlopen) while the process has one thread, so no fork can race
 * with the registration (glibc runs the prepare handlers without its atfork
 * lock, and a handler registered during a fork is skipped by that fork).
 * Every service also calls ct__fork_ready() before it first takes its lock,
 * which registers the handler if no constructor ran (compilers without
 * constructors).  The handlers always run every service' hooks (a lock
 * of an unused service is free: taking it costs nothing).  No library lock
 * is held around a registration, and none of the hooks blocks on anything
 * but the locks above, so a fork inside a ct_local_foreach callback
 * (reg_lock held, skipped by its own prepare) keeps the order.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_FORK_H
#define CT_INTERNAL_FORK_H

#include "cthreading/lock.h"

struct ct__fork_hooks {
    void (*prepare)(void);   /* take the service's locks (forking thread) */
    void (*parent)(void);    /* release them in the parent */
    void (*child)(void);     /* repair the state for a one-thread child, release */
};

/* Each service's hooks (src/local.c, src/timer.c, src/gil.c, src/thread.c,
 * src/shm.c); src/fork.c
 * runs them in the lock order above. */
extern const struct ct__fork_hooks ct__local_fork_hooks, ct__timer_fork_hooks,
    ct__gil_fork_hooks, ct__thread_fork_hooks, ct__shm_fork_hooks;

/* Registers the library's atfork handler once per process (cheap after the
 * first call).  Aborts the process if the OS refuses (pthread_atfork's
 * ENOMEM).  Call before the service's first lock. */
void ct__fork_ready(void);

/* In a child handler: releases l, which the forking thread took in prepare,
 * and forgets the sleepers of vanished threads that it may have counted. */
void ct__fork_child_unlock(ct_lock_t *l);

/* In a child handler: makes l held by the child's only thread with no
 * sleepers recorded (for a lock that thread held when it forked). */
void ct__fork_child_keep_locked(ct_lock_t *l);

#endif
