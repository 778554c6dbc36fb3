/* libFuzzer target: Lock against an executable model, on one thread (plus
 * short-lived helper threads for cross-thread release and acquire).
 *
 * The input is a sequence of (op, lock index, argument) over four locks.
 * The model is one bool per lock; every call's return code and the state
 * afterwards (ct_lock_locked and the raw word: 0 free, LOCKED held) must
 * match it.  Bad timeouts must be rejected with the lock untouched; a timed
 * acquire of a held lock must time out, and not early.  Calls that would
 * block forever on a held lock (a deadlock in Python too) are replaced by a
 * short timed acquire.
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "fuzz_input.h"
#include "internal/lock_word.h"   /* white-box: LOCKED */

#define LOCKS 4

struct helper_ctx { ct_lock_t *l; int64_t timeout; int rc; };

static void release_in_thread(void *p)
{
    struct helper_ctx *c = p;
    c->rc = ct_lock_release(c->l);
}

static void timed_in_thread(void *p)
{
    struct helper_ctx *c = p;
    c->rc = ct_lock_acquire_timed(c->l, c->timeout);
}

static void in_thread(void (*fn)(void *), struct helper_ctx *c)
{
    ct_thread_t t;
    int rc = ct_thread_start(&t, fn, c);
    if (rc == CT_EAGAIN)
        fn(c);                      /* no thread available: same call, here */
    else
        FUZZ_CHECK(rc == CT_OK && ct_thread_join(&t, CT_FOREVER) == CT_OK, "thread");
}

static void timed_expect(ct_lock_t *l, bool *locked, int64_t t, const char *what)
{
    int want = fuzz_timeout_code(t);
    if (want == CT_OK && *locked && fuzz_timeout_long(t))
        t = CT_US(20);              /* would block (nearly) forever */
    int64_t t0 = ct__now_ns();
    int rc = ct_lock_acquire_timed(l, t);
    int64_t took = ct__now_ns() - t0;
    if (want == CT_OK && *locked)
        want = CT_ETIMEDOUT;
    FUZZ_EXPECT_RC(rc, want, what);
    if (rc == CT_ETIMEDOUT)
        FUZZ_CHECK(took >= t, "timed out after %lld of %lld ns", (long long)took, (long long)t);
    if (rc == CT_OK)
        *locked = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    ct_lock_t locks[LOCKS];
    bool locked[LOCKS] = { false };
    struct helper_ctx c;

    memset(locks, 0, sizeof locks);
    for (int steps = 0; in.n > 0 && steps < 128; steps++) {
        uint8_t op = fuzz_u8(&in);
        int i = (op >> 4) % LOCKS;
        ct_lock_t *l = &locks[i];
        switch (op & 15) {
        case 0: case 1:             /* acquire */
            if (locked[i]) {
                timed_expect(l, &locked[i], CT_US(5), "acquire of a held lock (as timed)");
            } else {
                ct_lock_acquire(l);
                locked[i] = true;
            }
            break;
        case 2: case 3:             /* try_acquire */
            FUZZ_CHECK(ct_lock_try_acquire(l) == !locked[i], "try_acquire vs model %d", locked[i]);
            locked[i] = true;
            break;
        case 4: case 5: case 6:     /* acquire_timed, any timeout */
            timed_expect(l, &locked[i], fuzz_timeout(&in), "acquire_timed");
            break;
        case 7: case 8:             /* release */
            FUZZ_EXPECT_RC(ct_lock_release(l), locked[i] ? CT_OK : CT_EPERM, "release");
            locked[i] = false;
            break;
        case 9:                     /* release from another thread */
            c = (struct helper_ctx){ l, 0, 99 };
            in_thread(release_in_thread, &c);
            FUZZ_EXPECT_RC(c.rc, locked[i] ? CT_OK : CT_EPERM, "release from a thread");
            locked[i] = false;
            break;
        case 10: {                  /* timed acquire from another thread */
            int64_t t = fuzz_timeout(&in);
            int want = fuzz_timeout_code(t);
            if (want == CT_OK && locked[i] && fuzz_timeout_long(t))
                t = CT_US(20);
            c = (struct helper_ctx){ l, t, 99 };
            in_thread(timed_in_thread, &c);
            if (want == CT_OK && locked[i])
                want = CT_ETIMEDOUT;
            FUZZ_EXPECT_RC(c.rc, want, "acquire_timed from a thread");
            if (c.rc == CT_OK)
                locked[i] = true;
            break;
        }
        case 11:                    /* re-zero a lock nobody uses: reset */
            memset(l, 0, sizeof *l);
            locked[i] = false;
            break;
        default:                    /* locked() */
            break;
        }
        FUZZ_CHECK(ct_lock_locked(l) == locked[i], "locked() %d vs model %d",
                   ct_lock_locked(l), locked[i]);
        FUZZ_CHECK(locked[i] ? l->state == LOCKED : l->state == 0,
                   "state word %u with model locked=%d", l->state, locked[i]);
    }
    return 0;
}
