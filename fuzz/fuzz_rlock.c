/* libFuzzer target: RLock against an executable model, on one thread plus
 * short-lived helper threads.
 *
 * Input: a sequence of (op, lock index, argument) over two RLocks.  Model per
 * lock: the caller's recursion count, and whether a (finished) helper thread
 * owns it.  Checked after every call: the return code, ct_rlock_is_owned,
 * ct_rlock_count.  Re-entry never waits (even with timeout 0); an RLock owned
 * by another thread cannot be taken (a timed acquire times out, not early);
 * only the owner releases (CT_EPERM otherwise, nothing changes); bad timeouts
 * are rejected untouched; a full recursion count (the owner's count field is
 * pushed near UINT32_MAX) gives CT_EOVERFLOW / a failed try, nothing changes.
 * Calls that would block forever (a deadlock in Python too) become short
 * timed acquires.
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "fuzz_input.h"

#define LOCKS 2

struct model { uint32_t count; bool foreign; };
struct helper { ct_rlock_t *r; int64_t t; int rc; bool owned; };

static void helper_release(void *p)
{
    struct helper *h = p;
    h->rc = ct_rlock_release(h->r);
    h->owned = ct_rlock_is_owned(h->r) || ct_rlock_count(h->r) != 0;
}

static void helper_timed(void *p)
{
    struct helper *h = p;
    h->rc = ct_rlock_acquire_timed(h->r, h->t);
}

static void timed(ct_rlock_t *r, struct model *m, int64_t t, const char *what)
{
    int want = fuzz_timeout_code(t);
    if (want == CT_OK && m->foreign)
        t = fuzz_shorten(t);
    int64_t t0 = ct__now_ns();
    int rc = ct_rlock_acquire_timed(r, t);
    int64_t took = ct__now_ns() - t0;
    if (want == CT_OK) {
        if (m->foreign)
            want = CT_ETIMEDOUT;
        else if (m->count == UINT32_MAX)
            want = CT_EOVERFLOW;
    }
    FUZZ_EXPECT_RC(rc, want, what);
    FUZZ_NOT_EARLY(rc, took, t, what);
    if (rc == CT_OK)
        m->count++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    ct_rlock_t locks[LOCKS];
    struct model m[LOCKS];
    struct helper h;

    memset(locks, 0, sizeof locks);
    memset(m, 0, sizeof m);
    for (int steps = 0; in.n > 0 && steps < 128; steps++) {
        uint8_t op = fuzz_u8(&in);
        int i = (op >> 4) % LOCKS;
        ct_rlock_t *r = &locks[i];
        switch (op & 15) {
        case 0: case 1:             /* acquire */
            if (m[i].foreign) {
                timed(r, &m[i], CT_US(5), "acquire of a foreign RLock (as timed)");
            } else {
                int rc = ct_rlock_acquire(r);
                FUZZ_EXPECT_RC(rc, m[i].count == UINT32_MAX ? CT_EOVERFLOW : CT_OK, "acquire");
                if (rc == CT_OK)
                    m[i].count++;
            }
            break;
        case 2: case 3: {           /* try_acquire */
            bool want = !m[i].foreign && m[i].count != UINT32_MAX;
            FUZZ_CHECK(ct_rlock_try_acquire(r) == want, "try_acquire, model count %u foreign %d",
                       m[i].count, m[i].foreign);
            m[i].count += want;
            break;
        }
        case 4: case 5: case 6:     /* acquire_timed, any timeout */
            timed(r, &m[i], fuzz_timeout(&in), "acquire_timed");
            break;
        case 7: case 8:             /* release */
            FUZZ_EXPECT_RC(ct_rlock_release(r), m[i].count > 0 ? CT_OK : CT_EPERM, "release");
            if (m[i].count > 0)
                m[i].count--;
            break;
        case 9:                     /* release by another thread: never the owner */
            h = (struct helper){ r, 0, 99, true };
            fuzz_in_thread(helper_release, &h);
            FUZZ_EXPECT_RC(h.rc, CT_EPERM, "release by a non-owner thread");
            FUZZ_CHECK(!h.owned, "a non-owner thread sees itself as owner");
            break;
        case 10: {                  /* timed acquire by a thread that then exits */
            int64_t t = fuzz_timeout(&in);
            int want = fuzz_timeout_code(t);
            bool busy = m[i].count > 0 || m[i].foreign;
            if (want == CT_OK && busy)
                t = fuzz_shorten(t);
            h = (struct helper){ r, t, 99, false };
            fuzz_in_thread(helper_timed, &h);
            if (want == CT_OK && busy)
                want = CT_ETIMEDOUT;
            FUZZ_EXPECT_RC(h.rc, want, "acquire_timed by a helper thread");
            if (h.rc == CT_OK)
                m[i].foreign = true;    /* owned by a finished thread from now on */
            break;
        }
        case 11:                    /* re-zero an RLock nobody uses: reset */
            memset(r, 0, sizeof *r);
            m[i] = (struct model){ 0, false };
            break;
        case 12:                    /* push the owner's count near the limit */
            if (m[i].count > 0) {
                uint32_t c = UINT32_MAX - (fuzz_u8(&in) & 3);
                r->count = c - 1;   /* the owner's own field: levels beyond the first
                                       (src/rlock.c) */
                m[i].count = c;
            }
            break;
        default:                    /* queries only */
            break;
        }
        FUZZ_CHECK(ct_rlock_is_owned(r) == (m[i].count > 0), "is_owned %d vs model count %u",
                   ct_rlock_is_owned(r), m[i].count);
        FUZZ_CHECK(ct_rlock_count(r) == m[i].count, "count %u vs model %u", ct_rlock_count(r),
                   m[i].count);
    }
    return 0;
}
