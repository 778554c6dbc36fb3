/* libFuzzer target: Barrier against a model, on one thread plus helper
 * threads that make up the other parties.
 *
 * Model: parties, broken, the default timeout, the action's calls and its
 * planned results.  Checked: init rejects parties 0 and above
 * CT_BARRIER_PARTIES_MAX and bad default timeouts, leaving the barrier
 * untouched; with parties == 1 every wait returns index 0 after running the
 * action, and a failing action gives CT_EBROKEN and breaks it; a lone wait of
 * a barrier with more parties times out (not early) and breaks it; waits on a
 * broken barrier are CT_EBROKEN; reset mends it, abort breaks it; bad wait
 * timeouts are rejected without arriving (n_waiting stays 0, not broken);
 * with helper threads filling the other parties, arriving one at a time (the
 * next starts once n_waiting shows the previous one in), each arrival's
 * index is its place in the arrival order, the last one's parties-1, and
 * the action runs once.
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "fuzz_input.h"

struct act { int calls; int fail; };

static int action(void *p)
{
    struct act *a = p;
    a->calls++;
    return a->fail;
}

struct party { ct_barrier_t *b; int rc; };

static void party_main(void *p)
{
    struct party *q = p;
    q->rc = ct_barrier_wait_timed(q->b, CT_SEC(10));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    ct_barrier_t b;
    struct act a = { 0, 0 };
    unsigned parties = 0;
    int64_t dflt = CT_FOREVER;
    bool broken = false;

    memset(&b, 0xA5, sizeof b);
    for (int steps = 0; in.n > 0 && steps < 64; steps++) {
        uint8_t op = fuzz_u8(&in);
        if (parties == 0)
            op = 0;                 /* needs an init first */
        switch (op % 8) {
        case 0: {                   /* init, also with bad arguments */
            static const unsigned ps[] = { 0, 1, 1, 2, 3, 4, CT_BARRIER_PARTIES_MAX,
                                           CT_BARRIER_PARTIES_MAX + 1, 100000 };
            unsigned p = ps[fuzz_u8(&in) % (sizeof ps / sizeof ps[0])];
            int64_t t = fuzz_timeout(&in);
            int want = p < 1 || p > CT_BARRIER_PARTIES_MAX ? CT_EINVAL : fuzz_timeout_code(t);
            ct_barrier_t before = b;
            int rc = ct_barrier_init(&b, p, action, &a, t);
            if (rc != CT_OK && p >= 1 && p <= CT_BARRIER_PARTIES_MAX)
                FUZZ_EXPECT_RC(rc, want, "init with a bad timeout");
            else
                FUZZ_CHECK(rc == want || (want != CT_OK && rc != CT_OK), "init(%u): %s", p,
                           ct_strerror(rc));
            if (rc != CT_OK) {
                FUZZ_CHECK(memcmp(&before, &b, sizeof b) == 0, "failed init changed b");
            } else {
                parties = p, dflt = t, broken = false;
            }
            break;
        }
        case 1: case 2: {           /* wait_timed, any timeout (lone thread) */
            int64_t t = fuzz_timeout(&in);
            int tc = fuzz_timeout_code(t), want;
            a.fail = fuzz_u8(&in) % 4 == 0;
            if (tc == CT_OK && parties > 1)
                t = fuzz_shorten(t) == CT_FOREVER ? CT_US(20) : fuzz_shorten(t);
            int calls = a.calls;
            int64_t t0 = ct__now_ns();
            int rc = ct_barrier_wait_timed(&b, t);
            int64_t took = ct__now_ns() - t0;
            if (tc != CT_OK)
                want = tc;
            else if (broken)
                want = CT_EBROKEN;
            else if (parties > 1)
                want = CT_ETIMEDOUT;
            else
                want = a.fail ? CT_EBROKEN : 0;
            FUZZ_EXPECT_RC(rc, want, "lone wait_timed");
            FUZZ_NOT_EARLY(rc, took, t, "wait_timed");
            FUZZ_CHECK(a.calls == calls + (tc == CT_OK && !broken && parties == 1),
                       "action calls %d -> %d", calls, a.calls);
            if (tc == CT_OK && !broken && (parties > 1 || a.fail))
                broken = true;
            break;
        }
        case 3:                     /* default-timeout wait, when it cannot block long */
            if (parties == 1 || broken || (dflt >= 0 && dflt <= CT_MS(1))) {
                a.fail = 0;
                int rc = ct_barrier_wait(&b);
                int want = broken ? CT_EBROKEN : parties == 1 ? 0 : CT_ETIMEDOUT;
                FUZZ_EXPECT_RC(rc, want, "wait with the default timeout");
                if (want == CT_ETIMEDOUT)
                    broken = true;
            }
            break;
        case 4:
            ct_barrier_reset(&b);
            broken = false;
            break;
        case 5:
            ct_barrier_abort(&b);
            broken = true;
            break;
        case 6: {                   /* a full generation: helpers + this thread */
            if (parties > 4 || broken)
                break;
            struct party q[4];
            ct_thread_t t[4];
            int n = 0;
            a.fail = 0;
            for (unsigned i = 0; i + 1 < parties; i++) {
                q[i] = (struct party){ &b, 99 };
                if (ct_thread_start(&t[i], party_main, &q[i]) != CT_OK)
                    break;
                n++;
                int64_t end = ct__now_ns() + CT_SEC(10);
                while (ct_barrier_n_waiting(&b) < i + 1 && ct__now_ns() < end)
                    (void)ct_wait(&(uint32_t){0}, 0, CT_US(20));
                FUZZ_CHECK(ct_barrier_n_waiting(&b) == i + 1, "helper %u did not arrive", i);
            }
            if ((unsigned)n + 1 < parties) {    /* not enough threads: break it */
                ct_barrier_abort(&b);
                broken = true;
                for (int i = 0; i < n; i++)
                    FUZZ_CHECK(ct_thread_join(&t[i], CT_SEC(10)) == CT_OK, "party hung");
                break;
            }
            int calls = a.calls, rc = ct_barrier_wait_timed(&b, CT_SEC(10));
            unsigned seen = 0;
            FUZZ_CHECK(rc >= 0 && (unsigned)rc < parties, "index %d", rc);
            FUZZ_CHECK((unsigned)rc == parties - 1, "last arrival got index %d of %u", rc,
                       parties);
            seen |= 1u << rc;
            for (int i = 0; i < n; i++) {
                FUZZ_CHECK(ct_thread_join(&t[i], CT_SEC(10)) == CT_OK, "party hung");
                FUZZ_CHECK(q[i].rc >= 0 && (unsigned)q[i].rc < parties, "index %d", q[i].rc);
                FUZZ_CHECK(!(seen & 1u << q[i].rc), "index %d twice", q[i].rc);
                FUZZ_CHECK(q[i].rc == i, "arrival %d got index %d", i, q[i].rc);
                seen |= 1u << q[i].rc;
            }
            FUZZ_CHECK(a.calls == calls + 1, "action ran %d times", a.calls - calls);
            break;
        }
        default:
            break;
        }
        if (parties == 0)
            continue;               /* never initialised yet */
        FUZZ_CHECK(ct_barrier_parties(&b) == parties, "parties %u vs %u",
                   ct_barrier_parties(&b), parties);
        FUZZ_CHECK(ct_barrier_broken(&b) == broken, "broken %d vs model %d",
                   ct_barrier_broken(&b), broken);
        FUZZ_CHECK(ct_barrier_n_waiting(&b) == 0, "n_waiting %u with nobody waiting",
                   ct_barrier_n_waiting(&b));
    }
    return 0;
}
