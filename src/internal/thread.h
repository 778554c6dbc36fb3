/* Threads the library starts for its own services (the Timer's service and
 * worker threads): daemon, not counted by ct_thread_active_count nor listed
 * by ct_thread_enumerate, not waited for by ct_threading_shutdown, and named
 * `name` instead of taking a "Thread-N" number.  Join or detach them as any
 * other (same release rule).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_THREAD_H
#define CT_INTERNAL_THREAD_H

#include "cthreading/thread.h"

int ct__thread_start_service(ct_thread_t *t, const char *name, void (*fn)(void *), void *arg);

#endif
