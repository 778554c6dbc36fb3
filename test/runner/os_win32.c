/* Built-in runner, Windows hooks.
 *
 * - No error dialogs: a crashing test must end the process with a report,
 *   never wait for a click (or, under Wine, start winedbg).
 * - A crash (access violation, ...) or abort() (a failed assert()) reports the
 *   running test as failed and prints the summary line before the process
 *   ends, like Criterion's "Crashing" count.
 * - stdout/stderr stay in text mode (lines end in \r\n): in binary mode msvcrt's
 *   assert() message would come out as raw UTF-16.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "mini_criterion.h"

static LONG WINAPI on_exception(EXCEPTION_POINTERS *e)
{
    char what[96];
    snprintf(what, sizeof what, "crashed: exception 0x%08lx at %p",
             (unsigned long)e->ExceptionRecord->ExceptionCode,
             e->ExceptionRecord->ExceptionAddress);
    ct_test_died(what, 3);
}

static void on_abort(int sig)
{
    (void)sig;
    ct_test_died("crashed: abort() called", 3);
}

void ct_test_os_init(void)
{
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
    SetUnhandledExceptionFilter(on_exception);
    signal(SIGABRT, on_abort);
}
