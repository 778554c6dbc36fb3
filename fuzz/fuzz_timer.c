/* libFuzzer target: Timer against a model, on one thread (the callbacks run
 * on the library's worker threads).
 *
 * Four timer nodes.  Model per node: IDLE (never started, or finished and
 * joined), LONG (pending with an interval of an hour: it cannot fire during
 * the input), SHORT (started with 0-200 us: may run at any moment),
 * CANCELLED.  Checked: start rejects bad intervals (nothing changes) and a
 * pending timer (CT_EPERM); cancel of a LONG timer is true and it never
 * runs, cancel of a SHORT one is true iff its callback will not run (after a
 * join: ran + cancelled == 1); join of a LONG timer times out (not early; a
 * long join becomes a short one), of a SHORT one returns CT_OK within the
 * watchdog with the callback's effects visible; is_alive matches; bad join
 * timeouts are rejected.  At the end every LONG timer is cancelled and every
 * node joined, so no callback outlives the input.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdatomic.h>
#include <string.h>

#include "fuzz_input.h"

#define TIMERS 4

enum { IDLE, LONG, SHORT, CANCELLED };

struct node {
    ct_timer_t t;
    atomic_int ran;
    int state;
    bool cancel_true;              /* SHORT: a cancel returned true */
};

static void callback(void *p)
{
    struct node *n = p;
    atomic_fetch_add(&n->ran, 1);
}

/* Joins a SHORT timer and checks exactly one of ran / cancelled. */
static void settle(struct node *n)
{
    int rc = ct_timer_join(&n->t, CT_SEC(10));
    FUZZ_EXPECT_RC(rc, CT_OK, "join of a short timer (hang?)");
    FUZZ_CHECK(!ct_timer_is_alive(&n->t), "alive after join");
    int ran = atomic_load(&n->ran);
    FUZZ_CHECK(ran + n->cancel_true == 1, "ran %d, cancel returned true %d", ran,
               n->cancel_true);
    n->state = IDLE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    struct node nodes[TIMERS];

    memset(nodes, 0, sizeof nodes);
    for (int steps = 0; in.n > 0 && steps < 64; steps++) {
        uint8_t op = fuzz_u8(&in);
        struct node *n = &nodes[(op >> 4) % TIMERS];
        switch (op & 7) {
        case 0: case 1: {           /* start: long, short, or a bad interval */
            uint8_t k = fuzz_u8(&in);
            int64_t iv = k < 64 ? CT_SEC(3600) : k < 200 ? (int64_t)(k - 64) * 1500
                       : k < 230 ? -1 - (int64_t)(k & 3) : CT_TIMEOUT_MAX + 1 + (k & 7);
            int want = iv < 0 ? CT_EINVAL : iv > CT_TIMEOUT_MAX ? CT_EOVERFLOW
                     : n->state == LONG ? CT_EPERM : CT_OK;
            if (want == CT_OK && n->state == SHORT)
                settle(n);          /* finish the previous run first */
            bool alive = ct_timer_is_alive(&n->t);
            /* Reset the count before the start (the callback may run at once),
             * only when no callback of an earlier start can still come: a
             * SHORT timer was settled above unless the start must fail. */
            int ran = want == CT_OK ? atomic_exchange(&n->ran, 0) : -1;
            int rc = ct_timer_start(&n->t, iv, callback, n);
            if (rc != CT_OK && ran >= 0)
                atomic_store(&n->ran, ran);
            if (rc == CT_EAGAIN || rc == CT_ENOMEM)
                break;
            FUZZ_EXPECT_RC(rc, want, "start");
            if (rc == CT_OK) {
                n->cancel_true = false;
                n->state = iv == CT_SEC(3600) ? LONG : SHORT;
            } else if (n->state != SHORT) {     /* a short one may finish meanwhile */
                FUZZ_CHECK(ct_timer_is_alive(&n->t) == alive, "failed start changed is_alive");
            }
            break;
        }
        case 2: case 3: {           /* cancel */
            bool c = ct_timer_cancel(&n->t);
            if (n->state == LONG || n->state == CANCELLED || n->state == IDLE) {
                FUZZ_CHECK(c == (n->state != IDLE || atomic_load(&n->ran) == 0),
                           "cancel in state %d returned %d", n->state, c);
                if (n->state == LONG)
                    n->state = CANCELLED;
            } else {                /* SHORT: racing its deadline */
                n->cancel_true |= c;
            }
            break;
        }
        case 4: {                   /* join, any timeout */
            int64_t t = fuzz_timeout(&in);
            int want = fuzz_timeout_code(t);
            if (want != CT_OK) {
                FUZZ_EXPECT_RC(ct_timer_join(&n->t, t), want, "join with a bad timeout");
            } else if (n->state == LONG) {
                t = fuzz_shorten(t);
                int64_t t0 = ct__now_ns();
                int rc = ct_timer_join(&n->t, t);
                int64_t took = ct__now_ns() - t0;
                FUZZ_EXPECT_RC(rc, CT_ETIMEDOUT, "join of a pending long timer");
                FUZZ_NOT_EARLY(rc, took, t, "join");
            } else if (n->state == SHORT) {
                settle(n);
            } else {
                FUZZ_EXPECT_RC(ct_timer_join(&n->t, t), CT_OK, "join of a finished timer");
            }
            break;
        }
        default:
            break;
        }
        if (n->state == LONG)
            FUZZ_CHECK(ct_timer_is_alive(&n->t), "pending timer not alive");
        else if (n->state != SHORT)
            FUZZ_CHECK(!ct_timer_is_alive(&n->t), "idle/cancelled timer alive");
        if (n->state == CANCELLED || n->state == LONG)
            FUZZ_CHECK(atomic_load(&n->ran) == 0, "a long or cancelled timer ran");
    }
    for (int i = 0; i < TIMERS; i++) {
        if (nodes[i].state == LONG)
            FUZZ_CHECK(ct_timer_cancel(&nodes[i].t), "final cancel of a long timer");
        if (nodes[i].state == SHORT)
            settle(&nodes[i]);
        FUZZ_EXPECT_RC(ct_timer_join(&nodes[i].t, CT_SEC(10)), CT_OK, "final join");
    }
    return 0;
}
