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
#include <stdlib.h>
#include <string.h>
#include <limits.h>

#include "os.h"
#include "../internal/fatal.h"

_Static_assert(sizeof(HANDLE) <= sizeof(((ct__os_thread_t *)0)->v),
               "HANDLE must fit ct__os_thread_t");
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

static HANDLE handle_of(const ct__os_thread_t *h)
{
    HANDLE x;
    memcpy(&x, h->v, sizeof x);
    return x;
}

static unsigned __stdcall win32_trampoline(void *rec)
{
    ct__thread_main(rec);
    return 0;
}

/* CPython's threading.stack_size() minimum; Windows reserves stacks in 64 KiB
 * units (the allocation granularity). */
#define CT_STACK_MIN ((size_t)32768)
#define CT_STACK_GRAIN ((size_t)65536)

int ct__os_stack_size(size_t requested, size_t *actual)
{
    if (requested < CT_STACK_MIN)
        return CT_EINVAL;
    if (requested > SIZE_MAX - (CT_STACK_GRAIN - 1) || requested > UINT_MAX - CT_STACK_GRAIN)
        return CT_EAGAIN;
    *actual = (requested + CT_STACK_GRAIN - 1) / CT_STACK_GRAIN * CT_STACK_GRAIN;
    return CT_OK;
}

int ct__os_thread_create(ct__os_thread_t *h, size_t stack_size, void *rec)
{
    uintptr_t x;

    errno = 0;
    /* A reservation, as pthread's stack size: the commit grows on demand. */
    x = _beginthreadex(NULL, (unsigned)stack_size, win32_trampoline, rec,
                       stack_size ? STACK_SIZE_PARAM_IS_A_RESERVATION : 0, NULL);
    if (x == 0)
        return errno == ENOMEM ? CT_ENOMEM : CT_EAGAIN;
    memset(h, 0, sizeof *h);
    memcpy(h->v, &x, sizeof x);
    return CT_OK;
}

int ct__os_thread_join_until(ct__os_thread_t *h, int64_t deadline)
{
    HANDLE x = handle_of(h);

    /* The handle is signalled once the thread is gone, after its FLS
     * callbacks ran (like pthread_join after the key destructors).  The wait
     * is relative milliseconds, rounded up and re-armed from the monotonic
     * clock, so it is never early. */
    for (;;) {
        DWORD ms = INFINITE, rc;
        if (deadline != CT__NO_DEADLINE) {
            int64_t left = deadline - ct__now_ns();
            if (left < 0)
                left = 0;
            left = (left + 999999) / 1000000;
            ms = left >= (int64_t)INFINITE ? INFINITE - 1 : (DWORD)left;
        }
        rc = WaitForSingleObject(x, ms);
        if (rc == WAIT_OBJECT_0) {
            CloseHandle(x);
            return CT_OK;
        }
        if (rc != WAIT_TIMEOUT)
            ct__fatal("WaitForSingleObject", (long)GetLastError());
        if (deadline != CT__NO_DEADLINE && ct__now_ns() >= deadline)
            return CT_ETIMEDOUT;
    }
}

void ct__os_thread_detach(ct__os_thread_t *h)
{
    CloseHandle(handle_of(h));
}

void ct__os_thread_self(ct__os_thread_t *h)
{
    memset(h, 0, sizeof *h);    /* named through GetCurrentThread / OpenThread */
}

typedef HRESULT (WINAPI *set_description_fn)(HANDLE, PCWSTR);

/* SetThreadDescription exists from Windows 10 1607 (and in Wine); looked up
 * once so that the library still loads on Windows 8. */
static set_description_fn set_description(void)
{
    static set_description_fn fn;
    static atomic_int looked;
    if (!atomic_load_explicit(&looked, memory_order_acquire)) {
        HMODULE k = GetModuleHandleW(L"kernel32.dll");
        set_description_fn f = NULL;
        if (k != NULL)
            f = (set_description_fn)(void (*)(void))GetProcAddress(k, "SetThreadDescription");
        fn = f;
        atomic_store_explicit(&looked, 1, memory_order_release);
    }
    return fn;
}

void ct__os_thread_set_name(const ct__os_thread_t *h, bool self, uint64_t native_id,
                            const char *name)
{
    set_description_fn fn = set_description();
    HANDLE x = NULL, opened = NULL;
    wchar_t *w;
    int n;

    if (fn == NULL)
        return;
    n = MultiByteToWideChar(CP_UTF8, 0, name, -1, NULL, 0);
    if (n <= 0 || (w = malloc((size_t)n * sizeof *w)) == NULL)
        return;
    MultiByteToWideChar(CP_UTF8, 0, name, -1, w, n);
    if (self)
        x = GetCurrentThread();
    else if ((x = handle_of(h)) == NULL && native_id != 0)
        x = opened = OpenThread(THREAD_SET_LIMITED_INFORMATION, FALSE, (DWORD)native_id);
    if (x != NULL)
        (void)fn(x, w);
    if (opened != NULL)
        CloseHandle(opened);
    free(w);
}

uint64_t ct__os_native_id_self(void)
{
    return GetCurrentThreadId();
}

void ct__os_yield(void)
{
    SwitchToThread();
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

unsigned ct__os_tls_dtor_rounds(void)
{
    return 1;    /* an FLS callback runs once, even if it stores a value again */
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


/* ---- shared memory ----------------------------------------------------------- */

/* WaitOnAddress wakes threads of one process only, so no primitive could
 * wait across processes: regions are refused (include/cthreading/shm.h). */
int ct__os_shm_map(const char *name, bool create, size_t *size, void **base, size_t *mapped)
{
    (void)name, (void)create, (void)size, (void)base, (void)mapped;
    return CT_ENOTSUP;
}

void ct__os_shm_unmap(void *base, size_t mapped)
{
    (void)base, (void)mapped;
}

int ct__os_shm_unlink(const char *name)
{
    (void)name;
    return CT_ENOTSUP;
}

uint64_t ct__os_pid(void)
{
    return (uint64_t)GetCurrentProcessId();
}

bool ct__os_pid_dead(uint64_t pid)
{
    (void)pid;
    return false;
}
