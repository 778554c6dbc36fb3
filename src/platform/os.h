/* What each OS file (posix.c, win32.c) provides to the portable code.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_PLATFORM_OS_H
#define CT_PLATFORM_OS_H

#include <stdbool.h>
#include <stddef.h>
#include "cthreading/thread.h"
#include "../internal/clock.h"

/* ---- OS threads --------------------------------------------------------------
 * An OS thread handle (pthread_t, a HANDLE from _beginthreadex), opaque to the
 * portable code.  Zero = no handle (a thread the library did not create). */
typedef struct ct__os_thread { uint64_t v[2]; } ct__os_thread_t;

/* Checks and rounds a requested stack size (bytes, > 0) as the platform needs:
 * CT_OK with *actual set, CT_EINVAL below the minimum (CPython's 32 KiB or the
 * platform's own, whichever is larger), CT_EAGAIN if rounding overflows. */
int ct__os_stack_size(size_t requested, size_t *actual);

/* Starts an OS thread that calls ct__thread_main(arg), with stack_size bytes
 * of stack (0 = the platform default; else a value from ct__os_stack_size),
 * and stores its handle in *h.  Returns CT_OK, CT_EAGAIN or CT_ENOMEM. */
int ct__os_thread_create(ct__os_thread_t *h, size_t stack_size, void *arg);

/* Waits until the OS thread of h has exited (its thread-exit destructors
 * included) or the monotonic clock reaches deadline (CT__NO_DEADLINE: no
 * limit; a passed deadline polls once).  CT_OK: the thread is gone and h was
 * released; CT_ETIMEDOUT: still there, h unchanged.  Only one thread may be
 * inside this call for a given h at a time. */
int ct__os_thread_join_until(ct__os_thread_t *h, int64_t deadline);

/* Releases h without waiting (pthread_detach, CloseHandle); the thread's
 * resources go back to the system when it exits. */
void ct__os_thread_detach(ct__os_thread_t *h);

/* The calling thread's handle for naming only (never joined or detached). */
void ct__os_thread_self(ct__os_thread_t *h);

/* Sets the OS-visible name of a thread (best effort, errors ignored): the
 * calling thread if self, else the thread of h (a handle from create or
 * self that is still valid) whose OS id is native_id.  Truncated to what the
 * platform allows (15 bytes on Linux, at a UTF-8 character boundary). */
void ct__os_thread_set_name(const ct__os_thread_t *h, bool self, uint64_t native_id,
                            const char *name);

/* The calling thread's OS thread id (gettid, GetCurrentThreadId). */
uint64_t ct__os_native_id_self(void);

/* Gives the processor to another ready thread, if any. */
void ct__os_yield(void);

/* Portable body of every thread the library starts (src/thread.c). */
void ct__thread_main(void *rec);

/* ---- Per-thread slots with an exit destructor --------------------------------
 * One OS thread-local slot whose destructor runs when a thread that stored a
 * non-NULL value exits — also for threads the library did not create
 * (pthread keys on POSIX, FLS callbacks on Windows).  Create few of them (the
 * OS limit is ~1000 per process): a module keeps one slot for its whole
 * per-thread state.  The destructor runs on the exiting thread.
 *
 * A destructor must check that the value is this thread's own (compare it
 * with a _Thread_local copy, which the OS zeroes for every new thread) and
 * ignore any other: glibc (2.36) can give a thread created in a fork()
 * child the stale slot values of a thread that was running its exit
 * destructors in the parent when it forked (the slot's entries not yet
 * visited survive in the reused thread descriptor), and a module's child
 * fork hook has freed what they point to (seen in the fork torture).
 * ct__os_tls_is_own does the check; on Windows (no fork, and mingw's
 * emulated TLS may be torn down before the FLS callbacks run) it is true. */
typedef struct ct__os_tls { uint64_t slot; } ct__os_tls_t;

static inline bool ct__os_tls_is_own(const void *value, const void *own)
{
#if defined(_WIN32)
    (void)value, (void)own;
    return true;
#else
    return value == own;
#endif
}

/* Creates the slot.  Returns CT_OK, CT_EAGAIN (no slot left) or CT_ENOMEM. */
int ct__os_tls_create(ct__os_tls_t *k, void (*dtor)(void *value));
void *ct__os_tls_get(const ct__os_tls_t *k);
/* Returns CT_OK or CT_ENOMEM. */
int ct__os_tls_set(const ct__os_tls_t *k, void *value);
/* How many times a destructor that stores its value again is called at one
 * thread exit (PTHREAD_DESTRUCTOR_ITERATIONS; 1 for FLS).  A destructor that
 * re-arms itself until the last round runs after every other slot's
 * first-round destructor. */
unsigned ct__os_tls_dtor_rounds(void);

/* ---- fork ---------------------------------------------------------------------
 * Registers pthread_atfork handlers (src/fork.c registers once for the whole
 * library; see internal/fork.h).  Aborts if the OS refuses.  A no-op on
 * platforms without fork. */
void ct__os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

/* ---- CPUs -------------------------------------------------------------------
 * The number of logical CPUs online (os.cpu_count()), at least 1. */
unsigned ct__os_cpu_count(void);

/* Shared memory for src/shm.c.  ct__os_shm_map maps a region: name NULL
 * for an anonymous one (create must be true), else a shm_open name; create
 * makes it (exclusively) with *size bytes, otherwise *size receives its
 * size.  On success *base and *mapped (the length to unmap) are set.
 * Returns CT_OK or a library code (CT_EINVAL no such name, CT_EBUSY it
 * exists, CT_EAGAIN, CT_ENOMEM, CT_EPERM, CT_ENOTSUP); on an error nothing
 * is left mapped or created. */
int ct__os_shm_map(const char *name, bool create, size_t *size, void **base, size_t *mapped);
void ct__os_shm_unmap(void *base, size_t mapped);
int ct__os_shm_unlink(const char *name);

/* This process's id, and whether the process `pid` has certainly exited. */
uint64_t ct__os_pid(void);
bool ct__os_pid_dead(uint64_t pid);

#endif
