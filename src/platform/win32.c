/* Platform layer for Windows (Windows 8 / Server 2012 or later):
 * QueryPerformanceCounter, _beginthreadex and fiber-local storage.
 *
 * - Clock: QueryPerformanceCounter is monotonic and unaffected by wall-clock
 *   changes; its frequency is fixed at boot (10 MHz on Windows 10+).
 * - Threads: _beginthreadex, not CreateThread, so the C runtime sets up and
 *   frees its per-thread data for threads that call into it.  The thread's
 *   exit code is unused (ct_thread_join only waits for the handle).
 * - Per-thread slots with an exit destructor: FLS (FlsAlloc), whose callback
 *   runs on the exiting thread for every thread that stored a non-NULL value
 *   — also threads the library did not create, like a pthread key.  Unlike a
 *   pthread key: the callback runs once (a destructor that stores a value
 *   again is not called again), what the slot reads inside the callback is
 *   unspecified, and it also runs for the thread that ends the process
 *   (returning from main, exit()) — seen under Wine 8.0 — where glibc
 *   runs no key destructor.  Destructors must therefore be safe during
 *   process exit.  FLS callbacks have the WINAPI calling convention, which is not the C one
 *   on 32-bit x86, so each slot gets a trampoline from a fixed table rather
 *   than a cast function pointer.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <errno.h>
#include <process.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os.h"

_Static_assert(sizeof(HANDLE) <= sizeof(((ct_thread_t *)0)->handle),
               "HANDLE must fit ct_thread_t.handle");
_Static_assert(sizeof(DWORD) <= sizeof(((ct__os_tls_t *)0)->slot),
               "an FLS index must fit ct__os_tls_t.slot");

/* ---- monotonic clock ---------------------------------------------------------- */

/* Ticks per second of QueryPerformanceCounter.  Constant after boot, so racing
 * first callers store the same value; relaxed is enough. */
static _Atomic int64_t qpc_freq;

int64_t ct__now_ns(void)
{
    int64_t freq = atomic_load_explicit(&qpc_freq, memory_order_relaxed);
    LARGE_INTEGER now;

    if (freq == 0) {
        LARGE_INTEGER f;
        QueryPerformanceFrequency(&f);      /* cannot fail on XP and later */
        freq = f.QuadPart;
        atomic_store_explicit(&qpc_freq, freq, memory_order_relaxed);
    }
    QueryPerformanceCounter(&now);
    /* The common 10 MHz counter divides 1e9 exactly: one multiplication
     * (overflows only after 292 years of uptime).  Otherwise split whole
     * seconds from the remainder so that now * 1e9 cannot overflow; the
     * remainder product stays below 2^63 for any frequency under 9.2 GHz. */
    if (1000000000 % freq == 0)
        return now.QuadPart * (1000000000 / freq);
    return now.QuadPart / freq * 1000000000 + now.QuadPart % freq * 1000000000 / freq;
}

/* ---- threads -------------------------------------------------------------------- */

static unsigned __stdcall win32_trampoline(void *t)
{
    ct__thread_main((ct_thread_t *)t);
    return 0;
}

int ct__os_thread_create(ct_thread_t *t)
{
    uintptr_t h;

    errno = 0;
    h = _beginthreadex(NULL, 0, win32_trampoline, t, 0, NULL);
    if (h == 0)
        return errno == ENOMEM ? CT_ENOMEM : CT_EAGAIN;
    memcpy(t->handle, &h, sizeof h);
    return CT_OK;
}

void ct__os_thread_join(ct_thread_t *t)
{
    HANDLE h;

    memcpy(&h, t->handle, sizeof h);
    /* The handle is signalled once the thread is gone, after its FLS
     * callbacks ran (like pthread_join after the key destructors). */
    if (WaitForSingleObject(h, INFINITE) != WAIT_OBJECT_0) {
        fprintf(stderr, "cthreading: WaitForSingleObject failed: %lu\n", GetLastError());
        abort();
    }
    CloseHandle(h);
}

/* ---- per-thread slots: FLS with an exit callback ----------------------------- */

/* How many slots with a destructor the process may create.  os.h asks each
 * module for one slot at most; eight modules exist, so 16 leaves room. */
#define FLS_DTOR_MAX 16

/* fls_dtor[i] is written once, before FlsAlloc hands out the slot that uses
 * trampoline i; a thread can only run that trampoline after it stored a value
 * in the slot, i.e. after it learned the slot index from the creator, which
 * orders the write before the read. */
static void (*fls_dtor[FLS_DTOR_MAX])(void *);
static atomic_uint fls_dtor_used;

#define FLS_TRAMPOLINE(i) \
    static VOID WINAPI fls_trampoline_##i(PVOID value) { fls_dtor[i](value); }
FLS_TRAMPOLINE(0)  FLS_TRAMPOLINE(1)  FLS_TRAMPOLINE(2)  FLS_TRAMPOLINE(3)
FLS_TRAMPOLINE(4)  FLS_TRAMPOLINE(5)  FLS_TRAMPOLINE(6)  FLS_TRAMPOLINE(7)
FLS_TRAMPOLINE(8)  FLS_TRAMPOLINE(9)  FLS_TRAMPOLINE(10) FLS_TRAMPOLINE(11)
FLS_TRAMPOLINE(12) FLS_TRAMPOLINE(13) FLS_TRAMPOLINE(14) FLS_TRAMPOLINE(15)

static PFLS_CALLBACK_FUNCTION const fls_trampoline[FLS_DTOR_MAX] = {
    fls_trampoline_0,  fls_trampoline_1,  fls_trampoline_2,  fls_trampoline_3,
    fls_trampoline_4,  fls_trampoline_5,  fls_trampoline_6,  fls_trampoline_7,
    fls_trampoline_8,  fls_trampoline_9,  fls_trampoline_10, fls_trampoline_11,
    fls_trampoline_12, fls_trampoline_13, fls_trampoline_14, fls_trampoline_15,
};

int ct__os_tls_create(ct__os_tls_t *k, void (*dtor)(void *))
{
    PFLS_CALLBACK_FUNCTION cb = NULL;
    DWORD idx;

    if (dtor != NULL) {
        /* Claim a trampoline; a claim is never returned (slots live as long
         * as the process, as there is no ct__os_tls_delete). */
        unsigned i = atomic_load_explicit(&fls_dtor_used, memory_order_relaxed);
        do {
            if (i >= FLS_DTOR_MAX)
                return CT_EAGAIN;
        } while (!atomic_compare_exchange_weak_explicit(&fls_dtor_used, &i, i + 1,
                                                        memory_order_relaxed,
                                                        memory_order_relaxed));
        fls_dtor[i] = dtor;
        cb = fls_trampoline[i];
    }
    idx = FlsAlloc(cb);
    if (idx == FLS_OUT_OF_INDEXES)
        return CT_EAGAIN;    /* the claimed trampoline is lost: harmless */
    k->slot = idx;
    return CT_OK;
}

void *ct__os_tls_get(const ct__os_tls_t *k)
{
    return FlsGetValue((DWORD)k->slot);
}

int ct__os_tls_set(const ct__os_tls_t *k, void *value)
{
    return FlsSetValue((DWORD)k->slot, value) ? CT_OK : CT_ENOMEM;
}

/* ---- fork ---------------------------------------------------------------------- */

void ct__os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    (void)prepare;    /* no fork() on Windows */
    (void)parent;
    (void)child;
}

unsigned ct__os_cpu_count(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwNumberOfProcessors < 1 ? 1u : (unsigned)si.dwNumberOfProcessors;
}
