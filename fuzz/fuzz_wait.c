/* libFuzzer target: the wait layer, deadlines and ct_strerror, on one thread
 * plus a short-lived sleeper thread.
 *
 * Model: ct_wait rejects bad timeouts (EINVAL / EOVERFLOW) before looking at
 * the word; returns CT_OK at once when the word differs from `expected`;
 * otherwise returns CT_OK (woken or spurious) or CT_ETIMEDOUT no earlier than
 * the timeout.  A sleeper blocked with CT_FOREVER must come back after the
 * word changed and ct_wake_all/ct_wake_one ran (checked with a join timeout:
 * no lost wake-up).  ct__deadline_after saturates instead of
 * overflowing (UBSan watches) and agrees with the timeout checks.
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "fuzz_input.h"

struct sleeper { uint32_t *word; uint32_t expected; int rc; };

static void sleeper_main(void *p)
{
    struct sleeper *s = p;
    /* Loop over spurious returns until the value changed. */
    do
        s->rc = ct_wait(s->word, s->expected, CT_FOREVER);
    while (s->rc == CT_OK &&
           __atomic_load_n(s->word, __ATOMIC_ACQUIRE) == s->expected);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    uint32_t word = 0;

    for (int steps = 0; in.n > 0 && steps < 128; steps++) {
        uint8_t op = fuzz_u8(&in);
        switch (op % 8) {
        case 0: case 1: {           /* ct_wait with any timeout and value */
            int64_t t = fuzz_timeout(&in);
            uint32_t expected = (op & 0x80) ? word : fuzz_u32(&in);
            int want = fuzz_timeout_code(t);
            if (want == CT_OK && expected == word && fuzz_timeout_long(t))
                t = CT_US(10);      /* nobody would wake us */
            int64_t t0 = ct__now_ns();
            int rc = ct_wait(&word, expected, t);
            int64_t took = ct__now_ns() - t0;
            if (want != CT_OK)
                FUZZ_EXPECT_RC(rc, want, "ct_wait bad timeout");
            else if (expected != word)
                FUZZ_EXPECT_RC(rc, CT_OK, "ct_wait on a stale value");
            else
                FUZZ_CHECK(rc == CT_OK || (rc == CT_ETIMEDOUT && took >= t),
                           "ct_wait(%lld) returned %s after %lld ns", (long long)t,
                           ct_strerror(rc), (long long)took);
            break;
        }
        case 2:
            ct_wake_one(&word);
            break;
        case 3:
            ct_wake_all(&word);
            break;
        case 4:
            __atomic_store_n(&word, fuzz_u32(&in), __ATOMIC_RELEASE);
            break;
        case 5: {                   /* a sleeper must be woken */
            struct sleeper s = { &word, word, 99 };
            ct_thread_t t;
            if (ct_thread_start(&t, sleeper_main, &s) != CT_OK)
                break;
            if (fuzz_u8(&in) & 1)   /* sometimes let it fall asleep first */
                (void)ct_thread_join(&t, CT_US(50));
            __atomic_store_n(&word, word + 1 + (op >> 3), __ATOMIC_RELEASE);
            if (op & 0x80)
                ct_wake_one(&word);
            else
                ct_wake_all(&word);
            FUZZ_CHECK(ct_thread_join(&t, CT_SEC(10)) == CT_OK,
                       "sleeper not woken within 10 s (lost wake-up)");
            FUZZ_EXPECT_RC(s.rc, CT_OK, "sleeper");
            break;
        }
        case 6: {                   /* deadlines */
            int64_t t = fuzz_timeout(&in), d = 12345;
            if (op & 0x40)
                t = (int64_t)((uint64_t)fuzz_u32(&in) << 32 | fuzz_u32(&in));
            int64_t before = ct__now_ns();
            int rc = ct__deadline_after(t, &d);
            FUZZ_EXPECT_RC(rc, fuzz_timeout_code(t), "deadline");
            if (rc != CT_OK)
                FUZZ_CHECK(d == 12345, "deadline written on error");
            else if (t == CT_FOREVER)
                FUZZ_CHECK(d == CT__NO_DEADLINE, "forever");
            else
                FUZZ_CHECK(d >= before && (d - before >= t || d == CT__NO_DEADLINE),
                           "deadline %lld for timeout %lld", (long long)d, (long long)t);
            break;
        }
        default: {                  /* ct_strerror of anything */
            int code = (int)fuzz_u32(&in);
            const char *s = ct_strerror(code);
            FUZZ_CHECK(s != NULL && s[0] != '\0', "ct_strerror(%d)", code);
            break;
        }
        }
    }
    return 0;
}
