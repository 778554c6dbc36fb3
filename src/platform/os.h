/* What each OS file (posix.c, win32.c) provides to the portable code.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_PLATFORM_OS_H
#define CT_PLATFORM_OS_H

#include "cthreading/thread.h"
#include "../internal/clock.h"

/* Starts an OS thread that calls ct__thread_main(t) and stores its handle in
 * t->handle.  Returns CT_OK, CT_EAGAIN or CT_ENOMEM. */
int ct__os_thread_create(ct_thread_t *t);

/* Waits for the OS thread of t to have exited and releases its handle. */
void ct__os_thread_join(ct_thread_t *t);

/* Portable body of every thread (src/thread.c). */
void ct__thread_main(ct_thread_t *t);

/* ---- Per-thread slots with an exit destructor --------------------------------
 * One OS thread-local slot whose destructor runs when a thread that stored a
 * non-NULL value exits — also for threads the library did not create
 * (pthread keys on POSIX, FLS callbacks on Windows).  Create few of them (the
 * OS limit is ~1000 per process): a module keeps one slot for its whole
 * per-thread state.  The destructor runs on the exiting thread. */
typedef struct ct__os_tls { uint64_t slot; } ct__os_tls_t;

/* Creates the slot.  Returns CT_OK, CT_EAGAIN (no slot left) or CT_ENOMEM. */
int ct__os_tls_create(ct__os_tls_t *k, void (*dtor)(void *value));
void *ct__os_tls_get(const ct__os_tls_t *k);
/* Returns CT_OK or CT_ENOMEM. */
int ct__os_tls_set(const ct__os_tls_t *k, void *value);

/* ---- fork ---------------------------------------------------------------------
 * Registers pthread_atfork handlers (src/fork.c registers once for the whole
 * library; see internal/fork.h).  Aborts if the OS refuses.  A no-op on
 * platforms without fork. */
void ct__os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

/* ---- CPUs -------------------------------------------------------------------
 * The number of logical CPUs online (os.cpu_count()), at least 1. */
unsigned ct__os_cpu_count(void);

#endif
