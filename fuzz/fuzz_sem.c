/* libFuzzer target: Semaphore and BoundedSemaphore against a model, on one
 * thread plus short-lived helper threads.
 *
 * Input: byte 0 and 1 give the initial values (some invalid: negative, or
 * INT64_MAX); then a sequence of ops over one unbounded and one bounded
 * semaphore.  Model: the value, and the bound.  Checked after every call:
 * the return code and ct_sem_value.  An acquire with no permit times out
 * (not early; blocking calls become short timed ones); release(n) with n < 1
 * is CT_EINVAL, above the bound or INT64_MAX CT_EOVERFLOW, and then the value
 * is unchanged; bad timeouts are rejected; an init with a negative value
 * leaves the semaphore untouched.
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "fuzz_input.h"

struct model { int64_t value, bound; bool bounded; };
struct helper { ct_sem_t *s; int64_t n; int rc; };

static void helper_release(void *p)
{
    struct helper *h = p;
    h->rc = ct_sem_release(h->s, h->n);
}

static int64_t fuzz_count(struct fuzz_in *in)
{
    static const int64_t edges[] = { 0, 1, 2, 3, -1, INT64_MIN, INT64_MAX, INT64_MAX - 1, 5 };
    uint8_t k = fuzz_u8(in);
    return k < 2 * sizeof edges / sizeof edges[0] ? edges[k % (sizeof edges / sizeof edges[0])]
                                                  : k & 7;
}

static int release_code(const struct model *m, int64_t n)
{
    if (n < 1)
        return CT_EINVAL;
    if (n > INT64_MAX - m->value)
        return CT_EOVERFLOW;
    if (m->bounded && m->value + n > m->bound)
        return CT_EOVERFLOW;
    return CT_OK;
}

static void init(ct_sem_t *s, struct model *m, int64_t v, bool bounded)
{
    ct_sem_t before = *s;
    int rc = bounded ? ct_sem_init_bounded(s, v) : ct_sem_init(s, v);
    if (v < 0) {
        FUZZ_EXPECT_RC(rc, CT_EINVAL, "init with a negative value");
        FUZZ_CHECK(memcmp(&before, s, sizeof *s) == 0, "failed init changed the semaphore");
    } else {
        FUZZ_EXPECT_RC(rc, CT_OK, "init");
        m->value = v;
        m->bound = v;
        m->bounded = bounded;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    ct_sem_t sems[2] = { CT_SEM_INIT, CT_SEM_INIT };
    struct model m[2] = { { 0, 0, false }, { 0, 0, false } };
    struct helper h;

    init(&sems[0], &m[0], fuzz_count(&in), false);
    init(&sems[1], &m[1], fuzz_count(&in), true);
    for (int steps = 0; in.n > 0 && steps < 128; steps++) {
        uint8_t op = fuzz_u8(&in);
        int i = (op >> 4) & 1;
        ct_sem_t *s = &sems[i];
        switch (op & 15) {
        case 0: case 1:             /* acquire (timed if it would block) */
            if (m[i].value > 0) {
                FUZZ_EXPECT_RC(ct_sem_acquire(s), CT_OK, "acquire with permits");
                m[i].value--;
                break;
            }
            /* fall through */
        case 2: case 3: {           /* acquire_timed, any timeout */
            int64_t t = (op & 15) < 2 ? CT_US(5) : fuzz_timeout(&in);
            int want = fuzz_timeout_code(t);
            if (want == CT_OK && m[i].value == 0) {
                t = fuzz_shorten(t);
                want = CT_ETIMEDOUT;
            }
            int64_t t0 = ct__now_ns();
            int rc = ct_sem_acquire_timed(s, t);
            int64_t took = ct__now_ns() - t0;
            FUZZ_EXPECT_RC(rc, want, "acquire_timed");
            FUZZ_NOT_EARLY(rc, took, t, "acquire_timed");
            if (rc == CT_OK)
                m[i].value--;
            break;
        }
        case 4: case 5:             /* try_acquire */
            FUZZ_CHECK(ct_sem_try_acquire(s) == (m[i].value > 0), "try_acquire with value %lld",
                       (long long)m[i].value);
            if (m[i].value > 0)
                m[i].value--;
            break;
        case 6: case 7: case 8: {   /* release(n), any n */
            int64_t n = fuzz_count(&in);
            int want = release_code(&m[i], n);
            FUZZ_EXPECT_RC(ct_sem_release(s, n), want, "release");
            if (want == CT_OK)
                m[i].value += n;
            break;
        }
        case 9: {                   /* release(n) from another thread */
            int64_t n = fuzz_count(&in);
            int want = release_code(&m[i], n);
            h = (struct helper){ s, n, 99 };
            fuzz_in_thread(helper_release, &h);
            FUZZ_EXPECT_RC(h.rc, want, "release from a thread");
            if (want == CT_OK)
                m[i].value += n;
            break;
        }
        case 10:                    /* re-initialise (also with bad values) */
            init(s, &m[i], fuzz_count(&in), i == 1);
            break;
        default:
            break;
        }
        FUZZ_CHECK(ct_sem_value(s) == m[i].value, "value %lld vs model %lld",
                   (long long)ct_sem_value(s), (long long)m[i].value);
    }
    return 0;
}
