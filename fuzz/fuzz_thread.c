/* libFuzzer target: ct_thread_start / ct_thread_join timeouts and identity.
 *
 * Model per child: gated (blocked on a word) or free.  A join with a bad
 * timeout is rejected; a join of a gated child with a valid timeout times
 * out, not early; once the gate opens a CT_FOREVER join returns CT_OK within
 * the bound (no lost wake-up); a second join is CT_OK at once; identities are
 * non-zero and unique.
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "fuzz_input.h"

#define CHILDREN 3

struct child {
    ct_thread_t t;
    uint32_t gate;
    uint64_t ident;
    bool running, joined;
};

static void child_main(void *p)
{
    struct child *c = p;
    c->ident = ct_thread_ident();
    while (__atomic_load_n(&c->gate, __ATOMIC_ACQUIRE) == 0)
        (void)ct_wait(&c->gate, 0, CT_FOREVER);
}

static void open_gate(struct child *c)
{
    __atomic_store_n(&c->gate, 1, __ATOMIC_RELEASE);
    ct_wake_all(&c->gate);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    struct child kids[CHILDREN];
    uint64_t seen[64];
    int nseen = 0;

    memset(kids, 0, sizeof kids);
    for (int steps = 0; in.n > 0 && steps < 64; steps++) {
        uint8_t op = fuzz_u8(&in);
        struct child *c = &kids[(op >> 4) % CHILDREN];
        switch (op % 4) {
        case 0:                     /* start (gated or free) */
            if (c->running)
                break;
            memset(c, 0, sizeof *c);
            c->gate = (op & 0x80) ? 1 : 0;
            if (ct_thread_start(&c->t, child_main, c) == CT_OK)
                c->running = true;
            break;
        case 1: {                   /* join with any timeout */
            if (!c->running && !c->joined)
                break;
            int64_t t = fuzz_timeout(&in);
            int want = fuzz_timeout_code(t);
            if (c->joined) {
                if (want == CT_OK)
                    FUZZ_EXPECT_RC(ct_thread_join(&c->t, t), CT_OK, "second join");
                break;
            }
            bool gated = __atomic_load_n(&c->gate, __ATOMIC_ACQUIRE) == 0;
            if (want == CT_OK && gated && fuzz_timeout_long(t))
                t = CT_US(20);
            int64_t t0 = ct__now_ns();
            int rc = ct_thread_join(&c->t, t);
            int64_t took = ct__now_ns() - t0;
            if (want != CT_OK) {
                FUZZ_EXPECT_RC(rc, want, "join with a bad timeout");
            } else if (gated) {
                FUZZ_EXPECT_RC(rc, CT_ETIMEDOUT, "join of a blocked child");
                FUZZ_CHECK(took >= t, "join timed out after %lld of %lld ns",
                           (long long)took, (long long)t);
            } else if (rc == CT_OK) {
                c->running = false, c->joined = true;
            } else {
                FUZZ_EXPECT_RC(rc, CT_ETIMEDOUT, "join of a finishing child");
            }
            break;
        }
        case 2:                     /* open the gate */
            if (c->running)
                open_gate(c);
            break;
        default:                    /* open and join for good */
            if (!c->running)
                break;
            open_gate(c);
            FUZZ_CHECK(ct_thread_join(&c->t, CT_SEC(10)) == CT_OK,
                       "child not joined 10 s after its gate opened");
            c->running = false, c->joined = true;
            break;
        }
        if (c->joined && c->ident != 0) {
            for (int k = 0; k < nseen; k++)
                FUZZ_CHECK(seen[k] != c->ident, "identity %llu reused",
                           (unsigned long long)c->ident);
            if (nseen < 64)
                seen[nseen++] = c->ident;
            FUZZ_CHECK(c->ident != ct_thread_ident(), "child has the parent's identity");
            c->ident = 0;           /* counted once */
        }
    }
    for (int k = 0; k < CHILDREN; k++) {
        if (kids[k].running) {
            open_gate(&kids[k]);
            FUZZ_CHECK(ct_thread_join(&kids[k].t, CT_SEC(10)) == CT_OK, "final join");
        }
    }
    return 0;
}
