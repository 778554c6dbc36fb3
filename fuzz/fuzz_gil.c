/* libFuzzer target: the GIL's API against a model, on one thread plus
 * short-lived helper threads.
 *
 * Each input initialises one GIL (mode from the input, bad modes rejected)
 * and destroys it at the end.  Model: held, and the stack of open
 * ct_gil_ensure calls with what each returned.  Checked after every call:
 * the return code and ct_gil_held.  acquire while held is CT_EDEADLK;
 * release / yield by a non-holder CT_EPERM; ensure returns LOCKED iff held;
 * release_state pops the matching ensure (CT_EPERM with none open or the GIL
 * not held, CT_EINVAL for a value that is no ct_gil_state_t); poll and yield
 * with nobody waiting return 0; switch intervals <= 0 are CT_EINVAL, above
 * CT_TIMEOUT_MAX CT_EOVERFLOW, nothing changes; ALLOW_THREADS releases and
 * re-takes exactly when held.  A helper thread never holds it, and can take
 * and release it (acquire or ensure) when it is free.
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "fuzz_input.h"

#define MAX_ENSURE 16

struct helper { ct_gil_t *g; bool free; bool ok; };

static void helper_main(void *p)
{
    struct helper *h = p;
    h->ok = !ct_gil_held(h->g) && ct_gil_release(h->g) == CT_EPERM &&
            ct_gil_yield(h->g) == CT_EPERM;
    if (h->free) {
        ct_gil_state_t st = ct_gil_ensure(h->g);
        h->ok = h->ok && st == CT_GIL_STATE_UNLOCKED && ct_gil_held(h->g) &&
                ct_gil_release_state(h->g, st) == CT_OK && !ct_gil_held(h->g) &&
                ct_gil_acquire(h->g) == CT_OK && ct_gil_release(h->g) == CT_OK;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    ct_gil_t g;
    bool held = false;
    ct_gil_state_t stack[MAX_ENSURE];
    int depth = 0;
    int mode = fuzz_u8(&in) % 3 == 2 ? 7 : fuzz_u8(&in) & 1;

    int rc = ct_gil_init(&g, mode);
    if (mode == 7) {
        FUZZ_EXPECT_RC(rc, CT_EINVAL, "init with a bad mode");
        return 0;
    }
    FUZZ_EXPECT_RC(rc, CT_OK, "init");
    FUZZ_CHECK(ct_gil_switch_interval(&g) == CT_GIL_DEFAULT_INTERVAL, "default interval");
    for (int steps = 0; in.n > 0 && steps < 128; steps++) {
        uint8_t op = fuzz_u8(&in);
        switch (op % 12) {
        case 0:
            FUZZ_EXPECT_RC(ct_gil_acquire(&g), held ? CT_EDEADLK : CT_OK, "acquire");
            held = true;
            break;
        case 1:
            FUZZ_EXPECT_RC(ct_gil_release(&g), held ? CT_OK : CT_EPERM, "release");
            held = false;
            break;
        case 2: case 3: {           /* ensure */
            if (depth == MAX_ENSURE)
                break;
            ct_gil_state_t st = ct_gil_ensure(&g);
            FUZZ_CHECK(st == (held ? CT_GIL_STATE_LOCKED : CT_GIL_STATE_UNLOCKED),
                       "ensure returned %d with held=%d", (int)st, held);
            stack[depth++] = st;
            held = true;
            break;
        }
        case 4: case 5: {           /* release_state: the matching one, or another value */
            uint8_t k = fuzz_u8(&in) % 8;
            ct_gil_state_t st = k < 6 && depth > 0 ? stack[depth - 1]
                              : k == 6 ? (ct_gil_state_t)(op & 1) : (ct_gil_state_t)9;
            bool bad = st != CT_GIL_STATE_LOCKED && st != CT_GIL_STATE_UNLOCKED;
            rc = ct_gil_release_state(&g, st);
            if (bad)
                FUZZ_CHECK(rc == CT_EINVAL || (rc == CT_EPERM && (depth == 0 || !held)),
                           "release_state(bad) returned %s", ct_strerror(rc));
            else
                FUZZ_EXPECT_RC(rc, depth > 0 && held ? CT_OK : CT_EPERM, "release_state");
            if (rc == CT_OK) {
                depth--;
                if (st == CT_GIL_STATE_UNLOCKED)
                    held = false;
            }
            break;
        }
        case 6:                     /* nobody else waits: poll / yield do nothing */
            FUZZ_EXPECT_RC(ct_gil_poll(&g), 0, "poll with nobody waiting");
            break;
        case 7:
            FUZZ_EXPECT_RC(ct_gil_yield(&g), held ? 0 : CT_EPERM, "yield with nobody waiting");
            break;
        case 8: {                   /* switch interval */
            int64_t before = ct_gil_switch_interval(&g), t = fuzz_timeout(&in);
            int want = t <= 0 ? CT_EINVAL : t > CT_TIMEOUT_MAX ? CT_EOVERFLOW : CT_OK;
            FUZZ_EXPECT_RC(ct_gil_set_switch_interval(&g, t), want, "set_switch_interval");
            FUZZ_CHECK(ct_gil_switch_interval(&g) == (want == CT_OK ? t : before),
                       "interval after set");
            break;
        }
        case 9: {
            bool before = held;
            CT_BEGIN_ALLOW_THREADS(&g)
            FUZZ_CHECK(!ct_gil_held(&g), "held inside ALLOW_THREADS");
            CT_END_ALLOW_THREADS(&g)
            FUZZ_CHECK(ct_gil_held(&g) == before, "ALLOW_THREADS changed held");
            break;
        }
        case 10: {
            struct helper h = { &g, !held, false };
            fuzz_in_thread(helper_main, &h);
            FUZZ_CHECK(h.ok, "helper thread (GIL %s)", held ? "held here" : "free");
            break;
        }
        default: {
            ct_gil_stats_t s;
            ct_gil_stats(&g, &s);
            FUZZ_CHECK(s.wait_max_ns <= s.wait_total_ns || s.wait_total_ns == 0,
                       "stats: max %llu > total %llu", (unsigned long long)s.wait_max_ns,
                       (unsigned long long)s.wait_total_ns);
            break;
        }
        }
        FUZZ_CHECK(ct_gil_held(&g) == held, "held %d vs model %d", ct_gil_held(&g), held);
    }
    /* Close the open ensures (innermost first), then leave it free. */
    while (depth > 0 && held) {
        FUZZ_EXPECT_RC(ct_gil_release_state(&g, stack[depth - 1]), CT_OK, "closing ensure");
        if (stack[--depth] == CT_GIL_STATE_UNLOCKED)
            held = false;
    }
    if (held)
        FUZZ_EXPECT_RC(ct_gil_release(&g), CT_OK, "final release");
    ct_gil_destroy(&g);
    return 0;
}
