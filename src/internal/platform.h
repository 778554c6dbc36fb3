/* The one selection header: which OS and CPU we build for.
 *
 * Platform #ifs live here and in the backend files (src/wait/, src/platform/)
 * only; primitives include this header and call what it names.  The layer
 * test (test/hygiene/layers.py, rules in docs/layers.json) fails on an #if
 * naming an OS or a CPU anywhere else in src/ or include/.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_PLATFORM_H
#define CT_INTERNAL_PLATFORM_H

#if defined(_WIN32)
#  define CT__OS_WINDOWS 1
#else
#  define CT__OS_POSIX 1
#endif

/* ct__cpu_relax(): the spin-wait hint (x86 PAUSE, Arm YIELD).  It lowers the
 * power and memory-order-violation cost of a spin loop and lets a sibling
 * hyper-thread run. */
#if defined(__x86_64__) || defined(__i386__)
#  include <immintrin.h>
#  define ct__cpu_relax() _mm_pause()
#elif defined(__aarch64__) || defined(__arm__)
#  define ct__cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#  define ct__cpu_relax() ((void)0)
#endif

/* Is the build instrumented by ThreadSanitizer?  clang 14 does not define
 * __SANITIZE_THREAD__ (gcc does), so ask __has_feature too. */
#if defined(__SANITIZE_THREAD__)
#  define CT__TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define CT__TSAN 1
#  endif
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define CT__LIKELY(x)   __builtin_expect(!!(x), 1)
#  define CT__UNLIKELY(x) __builtin_expect(!!(x), 0)
#  define CT__NOINLINE    __attribute__((noinline))
#  define CT__COLD        __attribute__((cold))
#else
#  define CT__LIKELY(x)   (x)
#  define CT__UNLIKELY(x) (x)
#  define CT__NOINLINE
#  define CT__COLD
#endif

/* CT__CONSTRUCTOR: the function runs when the library is loaded (before main
 * for a program linked with it, while the process has one thread; at
 * dlopen otherwise).  Where the compiler offers no such hook,
 * CT__HAVE_CONSTRUCTOR is 0 and callers initialise lazily. */
#if defined(__GNUC__) || defined(__clang__)
#  define CT__HAVE_CONSTRUCTOR 1
#  define CT__CONSTRUCTOR __attribute__((constructor))
#else
#  define CT__HAVE_CONSTRUCTOR 0
#  define CT__CONSTRUCTOR
#endif

/* CT__TLS_INITIAL_EXEC: put after a _Thread_local variable's declarator to
 * ask for the initial-exec TLS model, under which each access is one load
 * relative to the thread pointer, also in a shared object (the cost: the
 * variable takes static TLS, which every ELF libc reserves some room for).
 * Empty where the model does not exist (PE/COFF, Mach-O) or the compiler
 * cannot be asked; the access is then the platform's default. */
#if defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))
#  define CT__TLS_INITIAL_EXEC __attribute__((tls_model("initial-exec")))
#else
#  define CT__TLS_INITIAL_EXEC
#endif

/* CT__TLS_EXPORTED: 1 where the public headers declare ct_thread_self_, the
 * exported thread-local copy of the caller's handle that the inline
 * ct_thread_current/ct_thread_ident read (include/cthreading/thread.h: the
 * same condition, written there because an installed header cannot include
 * this file); 0 where thread-local data cannot be exported (PE/COFF). */
#if defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))
#  define CT__TLS_EXPORTED 1
#else
#  define CT__TLS_EXPORTED 0
#endif

/* CT__LITTLE_ENDIAN: 1 if the least significant byte of an integer is stored
 * first, 0 if the most significant is.  Used to find the 32-bit half of a
 * 64-bit word that holds given bits (the wait layer waits on 32-bit words).
 * gcc and clang say it with __BYTE_ORDER__; every Windows target is
 * little-endian.  Elsewhere the build stops rather than guess. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && defined(__ORDER_BIG_ENDIAN__)
#  if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#    define CT__LITTLE_ENDIAN 1
#  elif __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#    define CT__LITTLE_ENDIAN 0
#  else
#    error "cthreading: mixed byte order is not supported"
#  endif
#elif defined(_WIN32)
#  define CT__LITTLE_ENDIAN 1
#else
#  error "cthreading: unknown byte order; define CT__LITTLE_ENDIAN in src/internal/platform.h"
#endif

#endif /* CT_INTERNAL_PLATFORM_H */
