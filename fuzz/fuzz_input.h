/* Shared helpers of the fuzz targets: a byte reader and the checks.
 *
 * Each target reads its input as a sequence of small operations; running
 * out of bytes reads zeros, so every input is a valid program.  A violated
 * expectation prints what was expected and aborts (libFuzzer saves the
 * input as a crash).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_FUZZ_INPUT_H
#define CT_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cthreading.h>
#include "internal/clock.h"

#if defined(__linux__)
#include <sys/prctl.h>
/* Linux pads every timed sleep with 50 us of timer slack by default; the
 * targets time out on purpose thousands of times per second. */
__attribute__((constructor)) static void fuzz_tight_timers(void)
{
    (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}
#endif

struct fuzz_in {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | fuzz_u8(in);
    return v;
}

/* A timeout argument: mostly interesting edge values, including invalid ones,
 * and small real ones (up to ~65 us, so that blocking calls stay cheap). */
static inline int64_t fuzz_timeout(struct fuzz_in *in)
{
    static const int64_t edges[] = {
        0, CT_FOREVER, -2, -1000, INT64_MIN, CT_TIMEOUT_MAX, CT_TIMEOUT_MAX + 1,
        INT64_MAX, 1, CT_US(10),
    };
    uint8_t k = fuzz_u8(in);
    if (k < 2 * sizeof edges / sizeof edges[0])
        return edges[k % (sizeof edges / sizeof edges[0])];
    return (int64_t)(fuzz_u8(in) << 8 | fuzz_u8(in));
}

/* What a timeout argument must produce per the API contract. */
static inline int fuzz_timeout_code(int64_t t)
{
    if (t < 0 && t != CT_FOREVER)
        return CT_EINVAL;
    if (t > CT_TIMEOUT_MAX)
        return CT_EOVERFLOW;
    return CT_OK;
}

/* True if a wait with this (valid) timeout could block for long. */
static inline int fuzz_timeout_long(int64_t t)
{
    return t == CT_FOREVER || t > CT_MS(1);
}

#define FUZZ_CHECK(cond, ...)                                                        \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
            abort();                                                                 \
        }                                                                            \
    } while (0)

#define FUZZ_EXPECT_RC(got, want, what) \
    FUZZ_CHECK((got) == (want), "%s: got %s, want %s", (what), ct_strerror(got), ct_strerror(want))

/* A call that timed out must have waited at least its timeout. */
#define FUZZ_NOT_EARLY(rc, took, t, what)                                              \
    FUZZ_CHECK((rc) != CT_ETIMEDOUT || (took) >= (t), "%s timed out after %lld of %lld ns", \
               (what), (long long)(took), (long long)(t))

/* A valid timeout for a call that would block: long ones become 20 us. */
static inline int64_t fuzz_shorten(int64_t t)
{
    return fuzz_timeout_long(t) ? CT_US(20) : t;
}

/* Runs fn(arg) on a short-lived thread and joins it (on this thread if no
 * thread can be started right now). */
static inline void fuzz_in_thread(void (*fn)(void *), void *arg)
{
    ct_thread_t t;
    int rc = ct_thread_start(&t, fn, arg);
    if (rc == CT_EAGAIN) {
        fn(arg);
        return;
    }
    FUZZ_CHECK(rc == CT_OK, "thread start: %s", ct_strerror(rc));
    rc = ct_thread_join(&t, CT_SEC(10));
    FUZZ_CHECK(rc == CT_OK, "helper thread still running after 10 s (hang)");
}

#endif
