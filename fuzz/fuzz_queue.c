/* libFuzzer target: Queue (FIFO, LIFO, PRIORITY; bounded or not) against a
 * model, on one thread plus short-lived helper threads.
 *
 * Input: byte 0 picks the kind (some invalid), byte 1 the bound; then a
 * sequence of ops: put / get with any timeout (blocking ones become short
 * timed ones), task_done, join, shutdown (either mode), qsize/empty/full,
 * destroy and re-init, a failing allocation for the next growth, and a get
 * blocked in a helper thread that the next put must feed.  Model: the items
 * in order (an array searched for the next one), the unfinished count, the
 * shutdown flag.  Checked after every call: the return code, the item got,
 * qsize/empty/full; a failed call changes nothing (the model is unchanged
 * and the following calls agree); timed calls that time out are not early.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "internal/queue.h"

#define MODEL_MAX 256

struct model {
    int kind;
    size_t maxsize;
    uintptr_t items[MODEL_MAX];
    size_t n;
    uint64_t unfinished;
    bool shut, valid;
};

static int fail_next_alloc;

static void *fuzz_realloc(void *p, size_t n)
{
    if (fail_next_alloc) {
        fail_next_alloc = 0;
        return NULL;
    }
    return realloc(p, n);
}

static int cmp_num(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return (x > y) - (x < y);
}

/* Index of the item the model's next get returns (n > 0). */
static size_t model_next(const struct model *m)
{
    size_t k = 0;
    if (m->kind == CT_QUEUE_LIFO)
        return m->n - 1;
    if (m->kind == CT_QUEUE_PRIORITY)
        for (size_t i = 1; i < m->n; i++)
            if (m->items[i] < m->items[k])
                k = i;
    return k;
}

static uintptr_t model_take(struct model *m)
{
    size_t k = model_next(m);
    uintptr_t v = m->items[k];
    memmove(&m->items[k], &m->items[k + 1], (m->n - k - 1) * sizeof m->items[0]);
    m->n--;
    return v;
}

static bool model_full(const struct model *m)
{
    return (m->maxsize && m->n >= m->maxsize) || m->n >= MODEL_MAX;
}

static void init(ct_queue_t *q, struct model *m, int kind, size_t maxsize)
{
    int rc = ct_queue_init(q, kind, maxsize, cmp_num);
    bool ok = kind >= 0 && kind <= 2;
    FUZZ_EXPECT_RC(rc, ok ? CT_OK : CT_EINVAL, "init");
    memset(m, 0, sizeof *m);
    m->valid = ok;
    if (ok) {
        m->kind = kind;
        m->maxsize = maxsize;
    } else {
        /* an invalid kind left q untouched: make it a bad-kind queue */
        memset(q, 0, sizeof *q);
        ct__queue_of(q)->kind = (uint32_t)kind;
    }
}

static void check_sizes(ct_queue_t *q, const struct model *m)
{
    size_t n = ct_queue_qsize(q);
    FUZZ_CHECK(n == (m->valid ? m->n : 0), "qsize %zu, model %zu", n, m->n);
    FUZZ_CHECK(ct_queue_empty(q) == (n == 0), "empty disagrees with qsize");
    FUZZ_CHECK(ct_queue_full(q) == (m->valid && m->maxsize && m->n >= m->maxsize),
               "full disagrees with the model");
}

struct blocked_get {
    ct_queue_t *q;
    void *item;
    int rc;
};

static void helper_get(void *p)
{
    struct blocked_get *b = p;
    b->rc = ct_queue_get(b->q, &b->item, CT_SEC(10));
}

struct helper_put {
    ct_queue_t *q;
    void *item;
    int rc;
};

static void helper_put(void *p)
{
    struct helper_put *h = p;
    h->rc = ct_queue_put(h->q, h->item, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    ct_queue_t q;
    struct model m;
    uintptr_t next_item = 1;

    ct__queue_realloc = fuzz_realloc;
    fail_next_alloc = 0;
    uint8_t k = fuzz_u8(&in);
    init(&q, &m, k < 240 ? k % 3 : (int)(k % 5) - 1, fuzz_u8(&in) % 12);
    for (int steps = 0; in.n > 0 && steps < 256; steps++) {
        uint8_t op = fuzz_u8(&in);
        switch (op % 12) {
        case 0: case 1: case 2: {   /* put, any timeout */
            int64_t t = op % 12 == 0 ? 0 : fuzz_timeout(&in);
            /* PRIORITY: keys from the input (duplicates allowed); else a sequence */
            uintptr_t v = m.kind == CT_QUEUE_PRIORITY ? (uintptr_t)fuzz_u8(&in) : next_item++;
            int want = fuzz_timeout_code(t);
            bool fail_alloc = (op & 0x80) != 0;
            if (want == CT_OK && !m.valid)
                want = CT_EINVAL;
            else if (want == CT_OK && m.shut)
                want = CT_ESHUTDOWN;
            else if (want == CT_OK && model_full(&m)) {
                if (m.n >= MODEL_MAX && !(m.maxsize && m.n >= m.maxsize))
                    break;          /* the model's own limit, not the queue's */
                t = fuzz_shorten(t);
                want = CT_ETIMEDOUT;
            }
            size_t cap = m.valid ? ct__queue_capacity(&q) : 0;
            if (want == CT_OK && fail_alloc && m.n == cap) {
                fail_next_alloc = 1;
                want = CT_ENOMEM;
            }
            int64_t t0 = ct__now_ns();
            int rc = ct_queue_put(&q, (void *)v, t);
            int64_t took = ct__now_ns() - t0;
            fail_next_alloc = 0;
            FUZZ_EXPECT_RC(rc, want, "put");
            FUZZ_NOT_EARLY(rc, took, t, "put");
            if (rc == CT_OK) {
                m.items[m.n++] = v;
                m.unfinished++;
            }
            break;
        }
        case 3: case 4: case 5: {   /* get, any timeout */
            int64_t t = op % 12 == 3 ? 0 : fuzz_timeout(&in);
            int want = fuzz_timeout_code(t);
            void *item = (void *)(uintptr_t)0xdead;
            if (want == CT_OK && !m.valid)
                want = CT_EINVAL;
            else if (want == CT_OK && m.n == 0) {
                if (m.shut) {
                    want = CT_ESHUTDOWN;
                } else {
                    t = fuzz_shorten(t);
                    want = CT_ETIMEDOUT;
                }
            }
            int64_t t0 = ct__now_ns();
            int rc = ct_queue_get(&q, &item, t);
            int64_t took = ct__now_ns() - t0;
            FUZZ_EXPECT_RC(rc, want, "get");
            FUZZ_NOT_EARLY(rc, took, t, "get");
            if (rc == CT_OK) {
                uintptr_t v = model_take(&m);
                FUZZ_CHECK((uintptr_t)item == v, "got %lu, model says %lu (kind %d)",
                           (unsigned long)(uintptr_t)item, (unsigned long)v, m.kind);
            } else {
                FUZZ_CHECK(item == (void *)(uintptr_t)0xdead, "item written on failure");
            }
            break;
        }
        case 6: {                   /* task_done */
            int want = !m.valid ? CT_EINVAL : m.unfinished == 0 ? CT_EOVERFLOW : CT_OK;
            FUZZ_EXPECT_RC(ct_queue_task_done(&q), want, "task_done");
            if (want == CT_OK)
                m.unfinished--;
            break;
        }
        case 7: {                   /* join */
            int64_t t = fuzz_timeout(&in);
            int want = fuzz_timeout_code(t);
            if (want == CT_OK && !m.valid)
                want = CT_EINVAL;
            else if (want == CT_OK && m.unfinished > 0) {
                t = fuzz_shorten(t);
                want = CT_ETIMEDOUT;
            }
            int64_t t0 = ct__now_ns();
            int rc = ct_queue_join(&q, t);
            int64_t took = ct__now_ns() - t0;
            FUZZ_EXPECT_RC(rc, want, "join");
            FUZZ_NOT_EARLY(rc, took, t, "join");
            break;
        }
        case 8: {                   /* shutdown */
            bool immediate = op & 0x10;
            FUZZ_EXPECT_RC(ct_queue_shutdown(&q, immediate), m.valid ? CT_OK : CT_EINVAL,
                           "shutdown");
            if (m.valid) {
                m.shut = true;
                if (immediate) {
                    m.unfinished = m.n < m.unfinished ? m.unfinished - m.n : 0;
                    m.n = 0;
                }
            }
            break;
        }
        case 9: {                   /* destroy, then maybe a new queue */
            FUZZ_EXPECT_RC(ct_queue_destroy(&q), m.valid ? CT_OK : CT_EINVAL, "destroy");
            uint8_t b = fuzz_u8(&in);
            if (m.valid && b < 64) {
                memset(&m, 0, sizeof m);    /* destroyed = zero-initialised FIFO */
                m.valid = true;
            } else {
                if (!m.valid)
                    memset(&q, 0, sizeof q);
                init(&q, &m, b % 4 == 3 ? 7 : b % 3, b >> 4);
            }
            break;
        }
        case 10: {                  /* a getter blocked in a helper, fed by a put */
            if (!m.valid || m.n != 0 || m.shut)
                break;
            struct blocked_get b = { &q, NULL, 99 };
            ct_thread_t t;
            if (ct_thread_start(&t, helper_get, &b) != CT_OK)
                break;
            int64_t end = ct__now_ns() + CT_SEC(10);
            while (ct__queue_blocked(&q, CT__QUEUE_GETTERS) == 0 && ct__now_ns() < end)
                (void)ct_wait(&(uint32_t){ 0 }, 0, CT_US(20));
            FUZZ_CHECK(ct__queue_blocked(&q, CT__QUEUE_GETTERS) == 1, "helper getter never blocked");
            uintptr_t v = next_item++;
            if (op & 0x40) {
                FUZZ_EXPECT_RC(ct_queue_shutdown(&q, op & 0x20), CT_OK, "shutdown of a waited queue");
                m.shut = true;
            } else {
                fail_next_alloc = 1;        /* a hand-off allocates nothing */
                FUZZ_EXPECT_RC(ct_queue_put(&q, (void *)v, 0), CT_OK, "put to a waiting getter");
                fail_next_alloc = 0;
                m.unfinished++;
            }
            FUZZ_CHECK(ct_thread_join(&t, CT_SEC(20)) == CT_OK, "helper getter hung");
            if (m.shut) {
                FUZZ_EXPECT_RC(b.rc, CT_ESHUTDOWN, "blocked get at shutdown");
            } else {
                FUZZ_EXPECT_RC(b.rc, CT_OK, "blocked get");
                FUZZ_CHECK((uintptr_t)b.item == v, "the getter got another item");
            }
            break;
        }
        case 11: {                  /* put_nowait from another thread */
            uintptr_t v = m.kind == CT_QUEUE_PRIORITY ? (uintptr_t)fuzz_u8(&in) : next_item++;
            int want = !m.valid ? CT_EINVAL : m.shut ? CT_ESHUTDOWN
                     : model_full(&m) ? CT_ETIMEDOUT : CT_OK;
            if (m.valid && !m.shut && m.n >= MODEL_MAX)
                break;
            struct helper_put h = { &q, (void *)v, 99 };
            fuzz_in_thread(helper_put, &h);
            FUZZ_EXPECT_RC(h.rc, want, "put from a thread");
            if (want == CT_OK) {
                m.items[m.n++] = v;
                m.unfinished++;
            }
            break;
        }
        }
        check_sizes(&q, &m);
    }
    if (m.valid)
        FUZZ_EXPECT_RC(ct_queue_destroy(&q), CT_OK, "final destroy");
    ct__queue_realloc = realloc;
    return 0;
}
