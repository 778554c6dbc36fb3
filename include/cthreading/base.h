/* cthreading — common definitions shared by every module.
 *
 * Return codes, timeout conventions and the export macro.  Every other public
 * header includes this one; include <cthreading.h> to get the whole library.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_BASE_H
#define CTHREADING_BASE_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CT_API marks the exported (public) symbols.  The library is compiled with
 * hidden visibility, so only functions carrying CT_API are exported from the
 * shared library. */
#if defined(_WIN32) && defined(CT_SHARED_LIBRARY)
#  if defined(CT_BUILDING_LIBRARY)
#    define CT_API __declspec(dllexport)
#  else
#    define CT_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define CT_API __attribute__((visibility("default")))
#else
#  define CT_API
#endif

/* ---- Return codes --------------------------------------------------------
 * A function that can fail returns int: 0 (or a non-negative result) on
 * success, one of these negative codes otherwise.  One code per outcome across
 * the library.  A call that returns an error leaves its object exactly as it
 * was. */
#define CT_OK          0  /* success */
#define CT_ETIMEDOUT (-1) /* the timeout expired before the condition held */
#define CT_EPERM     (-2) /* the caller does not hold what the call needs */
#define CT_EINVAL    (-3) /* an argument is out of its documented range */
#define CT_EBROKEN   (-4) /* the barrier is (or became) broken */
#define CT_EOVERFLOW (-5) /* a count or a timeout is too large */
#define CT_ENOMEM    (-6) /* memory could not be allocated */
#define CT_EDEADLK   (-7) /* the call would deadlock (caller already holds it) */
#define CT_EAGAIN    (-8) /* a system resource is temporarily exhausted */
#define CT_EBUSY     (-9) /* destroy of an object still in use: nothing destroyed */
#define CT_ESHUTDOWN (-10) /* the queue or executor was shut down */
#define CT_ECANCELLED (-11) /* the future was cancelled */
#define CT_EOWNERDEAD (-12) /* RLock taken over from a process that died holding it */
#define CT_ENOTSUP  (-13) /* not possible on this platform or wait backend */

/* Returns a short, static, human-readable name for a return code, e.g.
 * "CT_ETIMEDOUT: timed out".  Never returns NULL; unknown codes give
 * "unknown cthreading error".  Any thread may call it. */
CT_API const char *ct_strerror(int code);

/* ---- Timeouts --------------------------------------------------------------
 * Timeouts are relative, in nanoseconds, as int64_t:
 *   CT_FOREVER (-1)  wait without limit;
 *   0                never block (poll once);
 *   1 .. CT_TIMEOUT_MAX   wait at most that long;
 *   any other negative value  -> CT_EINVAL;
 *   a value above CT_TIMEOUT_MAX -> CT_EOVERFLOW.
 * CT_TIMEOUT_MAX is CPython's threading.TIMEOUT_MAX expressed in ns.
 * Deadlines are taken on a monotonic clock once, on entry, and saturate
 * instead of overflowing; signals and spurious wake-ups neither shorten nor
 * lengthen a wait. */
#define CT_FOREVER      (-INT64_C(1))
#define CT_TIMEOUT_MAX  INT64_C(9223372036000000000)

/* x microseconds / milliseconds / seconds in ns, as int64_t (x is converted
 * to int64_t first: CT_MS(1.5) is CT_MS(1)).  Constant expressions for
 * constant x, in C and in C++. */
#define CT_US(x) (CT__INT64(x) * INT64_C(1000))
#define CT_MS(x) (CT__INT64(x) * INT64_C(1000000))
#define CT_SEC(x) (CT__INT64(x) * INT64_C(1000000000))

/* Casts and null pointers in the public macros: C++-style in C++, so the
 * macros stay clean under -Wold-style-cast and -Wzero-as-null-pointer-constant;
 * plain C constant expressions in C. */
#ifdef __cplusplus
#  define CT__INT64(x) static_cast<int64_t>(x)
#  define CT__NULL nullptr
#else
#  define CT__INT64(x) ((int64_t)(x))
#  define CT__NULL ((void *)0)
#endif

/* ---- Version -------------------------------------------------------------
 * <cthreading/version.h> (included by <cthreading.h>) defines CT_VERSION_MAJOR,
 * CT_VERSION_MINOR, CT_VERSION_PATCH, CT_VERSION_STRING ("0.2.0") and
 * CT_VERSION_NUMBER (MAJOR * 10000 + MINOR * 100 + PATCH) for the headers a
 * program was compiled with; CMake generates that header from project(). */

/* Returns the version of the library the program runs with, as
 * "MAJOR.MINOR.PATCH" — equal to CT_VERSION_STRING when the headers and the
 * library come from the same build (CPython's Py_GetVersion() against
 * PY_VERSION).  A static string, never NULL.  Any thread may call it, at any
 * time. */
CT_API const char *ct_version(void);

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_BASE_H */
