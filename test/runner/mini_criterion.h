/* A minimal in-process test runner behind the Criterion macros the suite uses
 * (see test/ct_test.h).  Runs every registered test in order, in one process,
 * each under a watchdog that aborts the run when a test exceeds its timeout,
 * and ends with the line "N passed, N failed".  Exit status 0 iff none failed.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_MINI_CRITERION_H
#define CT_MINI_CRITERION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>     /* also: mingw's choice of printf flavour */
#include <string.h>

/* The message formats are checked like printf's.  mingw-w64 checks against
 * the printf that is linked: the C99 one when tests are built with
 * __USE_MINGW_ANSI_STDIO=1 (test/CMakeLists.txt does), msvcrt's otherwise. */
#if defined(__MINGW_PRINTF_FORMAT)
#  define CT__PRINTF(f, a) __attribute__((format(__MINGW_PRINTF_FORMAT, f, a)))
#elif defined(__GNUC__)
#  define CT__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#  define CT__PRINTF(f, a)
#endif

/* An assertion without a message passes the format "" (see CT__CHECK): not a
 * mistake here, so gcc's -Wformat-zero-length (part of -Wall) is silenced
 * for the files that include this header. */
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic ignored "-Wformat-zero-length"
#endif

struct ct_test_desc {
    const char *suite;
    const char *name;
    void (*fn)(void);
    double timeout;      /* seconds; 0 = the runner's default */
    bool disabled;
    void (*init)(void);  /* run before / after the test, as Criterion's .init */
    void (*fini)(void);
    const char *description;
    struct ct_test_desc *next;
};

void ct_test_register(struct ct_test_desc *d);
void ct_test_check(bool ok, bool fatal, const char *expr, const char *file, int line,
                   const char *fmt, ...) CT__PRINTF(6, 7);

/* Called by the platform hooks (runner/os_*.c) when the test process is about
 * to die (crash, abort): reports the running test as failed, prints the
 * summary line and ends the process with `status`.  Never returns. */
_Noreturn void ct_test_died(const char *what, int status);

/* Platform hooks, run once before the first test (runner/os_*.c). */
void ct_test_os_init(void);

#define CT__TEST_FN(s, n) ct_test_fn_##s##_##n
#define CT__TEST_DESC(s, n) ct_test_desc_##s##_##n

#define Test(s_, n_, ...)                                                          \
    static void CT__TEST_FN(s_, n_)(void);                                         \
    static struct ct_test_desc CT__TEST_DESC(s_, n_) = {                           \
        .suite = #s_, .name = #n_, .fn = CT__TEST_FN(s_, n_), __VA_ARGS__          \
    };                                                                             \
    __attribute__((constructor)) static void ct_test_reg_##s_##_##n_(void)         \
    {                                                                              \
        ct_test_register(&CT__TEST_DESC(s_, n_));                                  \
    }                                                                              \
    static void CT__TEST_FN(s_, n_)(void)

#define CT__CHECK(fatal, cond, text, ...) \
    ct_test_check(!!(cond), (fatal), (text), __FILE__, __LINE__, "" __VA_ARGS__)

#define cr_assert(cond, ...) CT__CHECK(true, (cond), #cond, __VA_ARGS__)
#define cr_expect(cond, ...) CT__CHECK(false, (cond), #cond, __VA_ARGS__)
#define cr_assert_not(cond, ...) CT__CHECK(true, !(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_expect_not(cond, ...) CT__CHECK(false, !(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_fail(...) CT__CHECK(true, 0, "cr_fail", __VA_ARGS__)

#define CT__CMP(fatal, a, op, b, ...) \
    CT__CHECK(fatal, ((a) op (b)), #a " " #op " " #b, __VA_ARGS__)
#define cr_assert_eq(a, b, ...)  CT__CMP(true, a, ==, b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) CT__CMP(true, a, !=, b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...)  CT__CMP(true, a, <, b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) CT__CMP(true, a, <=, b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...)  CT__CMP(true, a, >, b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) CT__CMP(true, a, >=, b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...)  CT__CMP(false, a, ==, b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) CT__CMP(false, a, !=, b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...)  CT__CMP(false, a, <, b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) CT__CMP(false, a, <=, b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...)  CT__CMP(false, a, >, b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) CT__CMP(false, a, >=, b, __VA_ARGS__)
#define cr_assert_null(p, ...)     CT__CHECK(true, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) CT__CHECK(true, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_expect_null(p, ...)     CT__CHECK(false, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_expect_not_null(p, ...) CT__CHECK(false, (p) != NULL, #p " != NULL", __VA_ARGS__)

/* Beyond the documented subset, so that a test written against Criterion
 * still builds here. */
#define cr_assert_str_eq(a, b, ...)  CT__CHECK(true, strcmp((a), (b)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) CT__CHECK(true, strcmp((a), (b)) != 0, #a " != " #b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...)  CT__CHECK(false, strcmp((a), (b)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_expect_str_neq(a, b, ...) CT__CHECK(false, strcmp((a), (b)) != 0, #a " != " #b, __VA_ARGS__)

#endif
