/* Small helpers shared by the test files.  Public API only (the library's
 * clock is ct_now_ns), so a test that includes them links a shared library;
 * internal/platform.h is macros only (CT__TSAN, ct__cpu_relax), no symbols.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_TEST_HELPERS_H
#define CT_TEST_HELPERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cthreading.h>
#include "internal/platform.h"

static inline int64_t t_now(void) { return ct_now_ns(); }

/* Pauses ns nanoseconds through the wait layer (a wait on a private word
 * nobody wakes).  Only ever to poll or to widen a race window, never to order
 * threads: order them with a flag, a count or a primitive. */
static inline void t_pause(int64_t ns) { (void)ct_wait(&(uint32_t){0}, 0, ns); }

/* Starts n threads t[0 .. n) running fn; thread i gets
 * (char *)arg + i * stride as its argument (stride 0: they all get arg, e.g.
 * one shared context; stride sizeof c[0]: each its own element of an array
 * c).  Returns CT_OK, or the code of the first ct_thread_start that failed
 * (the threads started before it keep running; a test asserts on the
 * result and fails). */
static inline int t_spawn_n(ct_thread_t *t, int n, void (*fn)(void *), void *arg, size_t stride)
{
    for (int i = 0; i < n; i++) {
        void *a = stride ? (void *)((char *)arg + (size_t)i * stride) : arg;
        int rc = ct_thread_start(&t[i], fn, a);
        if (rc != CT_OK)
            return rc;
    }
    return CT_OK;
}

/* Joins the threads t[0 .. n), each with no limit.  Returns CT_OK, or the
 * code of the first join that failed (the others are still joined). */
static inline int t_join_n(const ct_thread_t *t, int n)
{
    int first = CT_OK;
    for (int i = 0; i < n; i++) {
        int rc = ct_thread_join(&t[i], CT_FOREVER);
        if (rc != CT_OK && first == CT_OK)
            first = rc;
    }
    return first;
}

/* Polls `expr` (pausing 50 us between looks) until it is true or limit_ns
 * passed; evaluates to the final truth value of expr, so a test asserts on
 * it: cr_assert(T_AWAIT(cond, CT_SEC(30)), "...").  A statement expression
 * (gcc and clang, the compilers of the tests). */
#define T_AWAIT(expr, limit_ns)                                               \
    __extension__({                                                           \
        int64_t t_await_end_ = t_now() + (limit_ns);                          \
        bool t_await_ok_;                                                     \
        while (!(t_await_ok_ = (expr)) && t_now() < t_await_end_)             \
            t_pause(CT_US(50));                                               \
        t_await_ok_;                                                          \
    })

/* Spin (yielding the CPU) until *flag != 0 or `limit_ns` passed; returns the
 * final value.  Used to wait for a thread's announcement without a sleep. */
static inline int t_await(atomic_int *flag, int64_t limit_ns)
{
    int64_t end = t_now() + limit_ns;
    int v;
    while ((v = atomic_load(flag)) == 0 && t_now() < end)
        t_pause(CT_US(50));
    return v;
}

/* Waits (polling the counter, not sleeping for order) until *c >= want or
 * 30 s passed; returns the final count. */
static inline int t_await_count(atomic_int *c, int want)
{
    int64_t end = t_now() + CT_SEC(30);
    while (atomic_load(c) < want && t_now() < end)
        t_pause(CT_US(100));
    return atomic_load(c);
}

/* Sleeps ms milliseconds: only ever to widen a race window, never to order. */
static inline void t_pause_ms(int ms) { t_pause(CT_MS(ms)); }

/* TSan and ASan slow threaded code 5-20x on 2 cores: stress loops divide
 * their iteration counts by this. */
#if defined(CT__TSAN) || defined(__SANITIZE_ADDRESS__)
#define STRESS_SCALE 10
#else
#define STRESS_SCALE 1
#endif

/* Generous upper bound on "returned promptly" for timing checks on a shared,
 * noisy 2-core machine (and under sanitizers). */
#define T_SLACK CT_SEC(5)

#endif
