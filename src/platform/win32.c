/* Platform layer for Windows: QueryPerformanceCounter and _beginthreadex.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <errno.h>
#include <process.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os.h"

_Static_assert(sizeof(HANDLE) <= sizeof(((ct_thread_t *)0)->handle),
               "HANDLE must fit ct_thread_t.handle");

int64_t ct__now_ns(void)
{
    static LARGE_INTEGER freq;   /* constant after boot; racing writers agree */
    LARGE_INTEGER now;

    if (freq.QuadPart == 0)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    /* Split to avoid overflow of now * 1e9. */
    return (int64_t)(now.QuadPart / freq.QuadPart) * 1000000000 +
           (int64_t)(now.QuadPart % freq.QuadPart) * 1000000000 / freq.QuadPart;
}

static unsigned __stdcall win32_trampoline(void *t)
{
    ct__thread_main((ct_thread_t *)t);
    return 0;
}

int ct__os_thread_create(ct_thread_t *t)
{
    uintptr_t h = _beginthreadex(NULL, 0, win32_trampoline, t, 0, NULL);

    if (h == 0)
        return errno == ENOMEM ? CT_ENOMEM : CT_EAGAIN;
    memcpy(t->handle, &h, sizeof h);
    return CT_OK;
}

void ct__os_thread_join(ct_thread_t *t)
{
    HANDLE h;

    memcpy(&h, t->handle, sizeof h);
    if (WaitForSingleObject(h, INFINITE) != WAIT_OBJECT_0) {
        fprintf(stderr, "cthreading: WaitForSingleObject failed: %lu\n", GetLastError());
        abort();
    }
    CloseHandle(h);
}

int ct__os_tls_create(ct__os_tls_t *k, void (*dtor)(void *))
{
    /* FLS callbacks run at thread exit for every thread with a non-NULL
     * value (and at FlsFree); the signature matches (void WINAPI (*)(void*)). */
    DWORD idx = FlsAlloc((PFLS_CALLBACK_FUNCTION)(void (*)(void))dtor);

    if (idx == FLS_OUT_OF_INDEXES)
        return CT_EAGAIN;
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

void ct__os_atfork_child(void (*fn)(void))
{
    (void)fn;    /* no fork() on Windows */
}
