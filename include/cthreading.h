/* cthreading — Python's threading primitives and CPython's GIL in C11.
 *
 * The umbrella header: includes every module header.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_H
#define CTHREADING_H

#include "cthreading/base.h"
#include "cthreading/wait.h"
#include "cthreading/clock.h"
#include "cthreading/once.h"
#include "cthreading/thread.h"
#include "cthreading/lock.h"
#include "cthreading/rlock.h"
#include "cthreading/cond.h"
#include "cthreading/sem.h"
#include "cthreading/event.h"
#include "cthreading/barrier.h"
#include "cthreading/timer.h"
#include "cthreading/local.h"
#include "cthreading/gil.h"

#endif /* CTHREADING_H */
