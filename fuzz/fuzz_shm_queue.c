/* libFuzzer target: ShmQueue (byte-copy queue) against a model, on one
 * thread, in ordinary memory.
 *
 * Input: byte 0 and 1 pick the capacity (1..8) and item size (1..24); then a
 * sequence of ops: put / get with any timeout (blocking ones become short
 * timed ones), shutdown (either mode), qsize/empty/full/capacity/item_size,
 * a bad init (must change nothing) and a re-init.  Model: the items' bytes in
 * FIFO order and the shutdown state.  Checked after every call: the return
 * code, the bytes got, the snapshots; a failed call changes nothing (the
 * block's bytes are compared); timed calls that time out are not early.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdalign.h>
#include <string.h>

#include "fuzz_input.h"

#define CAP_MAX 8
#define SIZE_MAX_ITEM 24

struct model {
    size_t cap, size, head, n;
    unsigned char items[CAP_MAX][SIZE_MAX_ITEM];
    int shut; /* 0, 1 drain, 2 immediate */
};

static struct {
    alignas(64) unsigned char b[1024];
} block, keep;

static ct_shm_queue_t *init(struct model *m, uint8_t a, uint8_t b)
{
    ct_shm_queue_t *q = (ct_shm_queue_t *)block.b;
    size_t cap = 1 + a % CAP_MAX, size = 1 + b % SIZE_MAX_ITEM;
    size_t bytes = ct_shm_queue_bytes(cap, size);

    FUZZ_CHECK(bytes > 0 && bytes <= sizeof block.b, "bytes %zu", bytes);
    FUZZ_EXPECT_RC(ct_shm_queue_init(q, bytes, cap, size), CT_OK, "init");
    memset(m, 0, sizeof *m);
    m->cap = cap;
    m->size = size;
    return q;
}

static void check_snapshots(ct_shm_queue_t *q, const struct model *m)
{
    FUZZ_CHECK(ct_shm_queue_qsize(q) == m->n, "qsize %zu, model %zu", ct_shm_queue_qsize(q), m->n);
    FUZZ_CHECK(ct_shm_queue_empty(q) == (m->n == 0), "empty");
    FUZZ_CHECK(ct_shm_queue_full(q) == (m->n == m->cap), "full");
    FUZZ_CHECK(ct_shm_queue_capacity(q) == m->cap, "capacity");
    FUZZ_CHECK(ct_shm_queue_item_size(q) == m->size, "item_size");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    struct model m;
    uint8_t a = fuzz_u8(&in), b = fuzz_u8(&in);
    ct_shm_queue_t *q = init(&m, a, b);

    for (int steps = 0; in.n > 0 && steps < 128; steps++) {
        uint8_t op = fuzz_u8(&in);
        switch (op % 8) {
        case 0: case 1: case 2: {   /* put */
            unsigned char item[SIZE_MAX_ITEM];
            int64_t t = (op % 8) == 0 ? 0 : fuzz_timeout(&in);
            int want = fuzz_timeout_code(t);
            for (size_t i = 0; i < m.size; i++)
                item[i] = fuzz_u8(&in);
            if (want == CT_OK) {
                if (m.shut)
                    want = CT_ESHUTDOWN;
                else if (m.n == m.cap) {
                    t = fuzz_shorten(t);
                    want = CT_ETIMEDOUT;
                }
            }
            keep = block;
            int64_t t0 = ct__now_ns();
            int rc = ct_shm_queue_put(q, item, t);
            int64_t took = ct__now_ns() - t0;
            FUZZ_EXPECT_RC(rc, want, "put");
            FUZZ_NOT_EARLY(rc, took, t, "put");
            if (rc == CT_OK) {
                memcpy(m.items[(m.head + m.n) % m.cap], item, m.size);
                m.n++;
            } else {
                FUZZ_CHECK(memcmp(&block, &keep, sizeof block) == 0, "failed put changed the queue");
            }
            break;
        }
        case 3: case 4: {           /* get */
            unsigned char out[SIZE_MAX_ITEM], before[SIZE_MAX_ITEM];
            int64_t t = (op % 8) == 3 ? 0 : fuzz_timeout(&in);
            int want = fuzz_timeout_code(t);
            memset(out, 0xa5, sizeof out);
            memcpy(before, out, sizeof out);
            if (want == CT_OK && m.n == 0) {
                if (m.shut)
                    want = CT_ESHUTDOWN;
                else {
                    t = fuzz_shorten(t);
                    want = CT_ETIMEDOUT;
                }
            }
            keep = block;
            int64_t t0 = ct__now_ns();
            int rc = ct_shm_queue_get(q, out, t);
            int64_t took = ct__now_ns() - t0;
            FUZZ_EXPECT_RC(rc, want, "get");
            FUZZ_NOT_EARLY(rc, took, t, "get");
            if (rc == CT_OK) {
                FUZZ_CHECK(memcmp(out, m.items[m.head], m.size) == 0, "wrong bytes got");
                FUZZ_CHECK(memcmp(out + m.size, before + m.size, sizeof out - m.size) == 0,
                           "get wrote past the item");
                m.head = (m.head + 1) % m.cap;
                m.n--;
            } else {
                FUZZ_CHECK(memcmp(out, before, sizeof out) == 0, "failed get wrote out");
                FUZZ_CHECK(memcmp(&block, &keep, sizeof block) == 0, "failed get changed the queue");
            }
            break;
        }
        case 5: {                   /* shutdown */
            bool immediate = fuzz_u8(&in) & 1;
            FUZZ_EXPECT_RC(ct_shm_queue_shutdown(q, immediate), CT_OK, "shutdown");
            if (immediate) {
                m.shut = 2;
                m.n = 0;
            } else if (!m.shut) {
                m.shut = 1;
            }
            break;
        }
        case 6: {                   /* a bad init changes nothing */
            uint8_t k = fuzz_u8(&in);
            size_t need = ct_shm_queue_bytes(m.cap, m.size);
            keep = block;
            if (k % 3 == 0)
                FUZZ_EXPECT_RC(ct_shm_queue_init(q, need - 1, m.cap, m.size), CT_EINVAL, "short init");
            else if (k % 3 == 1)
                FUZZ_EXPECT_RC(ct_shm_queue_init(q, need, 0, m.size), CT_EINVAL, "init cap 0");
            else
                FUZZ_EXPECT_RC(ct_shm_queue_init(q, need, m.cap, 0), CT_EINVAL, "init size 0");
            FUZZ_CHECK(memcmp(&block, &keep, sizeof block) == 0, "bad init changed the queue");
            break;
        }
        default: {                  /* re-init (rarely) */
            uint8_t k = fuzz_u8(&in);
            if (k < 16)
                q = init(&m, fuzz_u8(&in), fuzz_u8(&in));
            break;
        }
        }
        check_snapshots(q, &m);
    }
    return 0;
}
