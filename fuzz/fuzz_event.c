/* libFuzzer target: Event against a model (one flag), on one thread plus
 * short-lived setter threads.
 *
 * Checked after every call: the return code and ct_event_is_set.  A wait on
 * a set event returns CT_OK at once; on a clear one it times out, not early
 * (long waits become short ones); bad timeouts are rejected and change
 * nothing; a CT_FOREVER wait while a helper thread sets the event (or
 * pulses it: set and clear at once, repeatedly) returns (no lost wake-up:
 * libFuzzer's -timeout catches a wait that never returns).
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "fuzz_input.h"

struct setter { ct_event_t *e; uint32_t go, done; bool clear_after; };

/* Sets the event (and clears it at once, for a pulse) again and again until
 * the main thread's wait has returned: the main thread cannot tell when it is
 * really waiting, but a pulse that lands while it waits must release it. */
static void setter_main(void *p)
{
    struct setter *s = p;
    while (__atomic_load_n(&s->go, __ATOMIC_ACQUIRE) == 0)
        (void)ct_wait(&s->go, 0, CT_MS(1));
    do {
        ct_event_set(s->e);
        if (s->clear_after)
            ct_event_clear(s->e);
        (void)ct_wait(&s->done, 0, CT_US(20));
    } while (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    ct_event_t e = CT_EVENT_INIT;
    bool flag = false;

    for (int steps = 0; in.n > 0 && steps < 128; steps++) {
        uint8_t op = fuzz_u8(&in);
        switch (op % 8) {
        case 0: ct_event_set(&e); flag = true; break;
        case 1: ct_event_clear(&e); flag = false; break;
        case 2: case 3: {           /* wait_timed, any timeout */
            int64_t t = fuzz_timeout(&in);
            int want = fuzz_timeout_code(t);
            if (want == CT_OK && !flag) {
                t = fuzz_shorten(t);
                want = CT_ETIMEDOUT;
            }
            int64_t t0 = ct__now_ns();
            int rc = ct_event_wait_timed(&e, t);
            int64_t took = ct__now_ns() - t0;
            FUZZ_EXPECT_RC(rc, want, "wait_timed");
            FUZZ_NOT_EARLY(rc, took, t, "wait_timed");
            break;
        }
        case 4:                     /* untimed wait: only when set */
            if (flag)
                ct_event_wait(&e);
            break;
        case 5: {                   /* wait forever while another thread sets */
            struct setter s = { &e, 0, 0, (op & 8) != 0 };
            ct_thread_t t;
            if (ct_thread_start(&t, setter_main, &s) != CT_OK)
                break;
            __atomic_store_n(&s.go, 1, __ATOMIC_RELEASE);
            ct_wake_all(&s.go);
            if (op & 16)
                ct_event_wait(&e);
            else
                FUZZ_EXPECT_RC(ct_event_wait_timed(&e, CT_FOREVER), CT_OK, "wait while set");
            __atomic_store_n(&s.done, 1, __ATOMIC_RELEASE);
            ct_wake_all(&s.done);
            FUZZ_CHECK(ct_thread_join(&t, CT_SEC(10)) == CT_OK, "setter hung");
            flag = !s.clear_after;
            break;
        }
        case 6:                     /* re-zero: reset */
            memset(&e, 0, sizeof e);
            flag = false;
            break;
        default:
            break;
        }
        FUZZ_CHECK(ct_event_is_set(&e) == flag, "is_set %d vs model %d", ct_event_is_set(&e),
                   flag);
    }
    return 0;
}
