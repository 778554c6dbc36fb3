/* cthreading — one-time initialisation: pthread_once / call_once, with retry.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_ONCE_H
#define CTHREADING_ONCE_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 4 bytes; zero-initialised = not run yet.  Re-zeroing one that no thread is
 * using resets it (after fork, say). */
typedef struct ct_once_t { uint32_t state; } ct_once_t;   /* tag: see ct_gil_stats_t */

#define CT_ONCE_INIT { 0 }

/* Runs fn(arg) exactly once among all callers of ct_once on o, as
 * pthread_once: a caller that arrives while fn runs waits (on the library's
 * wait layer) until it returned.  If fn returns 0, that call and every later
 * one return CT_OK — later calls cost one acquire load.  If fn returns
 * non-zero, that code is returned to its caller, o stays "not run", and the
 * next caller (a waiting one or a later one) runs fn again.  Everything fn
 * wrote happens-before every CT_OK return.  fn must not call ct_once on the
 * same o (it would wait for itself).  Any thread may call it. */
CT_API int ct_once(ct_once_t *o, int (*fn)(void *arg), void *arg);

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_ONCE_H */
