/* Test front door: every test file includes this instead of Criterion.
 *
 * With Criterion available (the normal Linux builds) it is Criterion itself.
 * Where Criterion cannot run — under ThreadSanitizer (its BoxFort arena clashes
 * with TSan's shadow memory) and on Windows (not packaged) — CMake defines
 * CT_TEST_BUILTIN and the same sources run on the small in-process runner of
 * test/runner/, which implements the subset of Criterion the suite uses:
 *
 *   Test(suite, name [, .timeout = seconds])
 *   cr_assert(cond [, fmt, ...])           cr_expect(...)  (same, non-fatal)
 *   cr_assert_eq / neq / lt / leq / gt / geq (a, b [, fmt, ...])
 *   cr_assert_not, cr_assert_null, cr_assert_not_null
 *   cr_fail(fmt, ...)
 *
 * Rules for tests (both runners): assertions run on the test's own thread —
 * worker threads record results and the test checks them after joining; tests
 * must not depend on a fresh process (the built-in runner runs them all in
 * one); order threads with real synchronisation, never with sleeps.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_TEST_H
#define CT_TEST_H

#if defined(CT_TEST_BUILTIN)
#  include "runner/mini_criterion.h"
#else
#  include <criterion/criterion.h>
#endif

#include <cthreading.h>

#endif
