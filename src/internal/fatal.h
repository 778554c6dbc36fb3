/* The library's one way to die: an OS call failed in a way the library
 * cannot report as a return code (a corrupted object, a broken kernel
 * contract, ENOMEM where the API promises no failure).
 *
 * Expected outcomes are return codes (docs/API.md); these are the
 * "impossible" failures, and the process stops at once with a message that
 * names the call, rather than carry on with a primitive in an unknown state.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_FATAL_H
#define CT_INTERNAL_FATAL_H

#include "platform.h"

/* Writes "cthreading: <call> failed unexpectedly (error <err>)" to stderr
 * and aborts.  call names the OS call ("pthread_join", "FUTEX_WAIT_BITSET",
 * "WaitOnAddress"); err is that call's own error code (an errno value, a
 * pthread return code, GetLastError()).  Defined in src/error.c. */
CT__COLD _Noreturn void ct__fatal(const char *call, long err);

#endif /* CT_INTERNAL_FATAL_H */
