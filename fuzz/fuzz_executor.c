/* libFuzzer target: Executor and Future against a model.
 *
 * One executor with one worker.  To make every outcome deterministic, a
 * "blocker" task holds the worker on a closed gate while the input submits,
 * cancels, waits for and adds callbacks to up to 8 futures — so those stay
 * pending, in FIFO order, until an op opens the gate and waits for them all.
 * Other ops: bad timeouts, a never-submitted future, shutdown (with or
 * without cancel_futures, wait or not), destroy (CT_EBUSY unless shut down
 * with nothing unfinished) and re-init.  Model per future: idle / pending /
 * finished / cancelled, callbacks added; checked: every return code, results,
 * that a cancelled task never ran and a finished one ran once, that every
 * callback ran exactly once by the time its future is done, and that tasks
 * ran in submission order.
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "fuzz_input.h"

#define NF 8

enum mstate { M_IDLE, M_PENDING, M_FINISHED, M_CANCELLED };

struct fut {
    ct_future_t f;
    enum mstate st;
    int ran, callbacks, added;
    int order;                       /* position in which the task ran */
    int seq;                         /* position in which it was submitted */
};

static struct fut futs[NF];
static int ran_counter, submit_counter;
static ct_event_t gate;

static void *blocker(void *arg)
{
    (void)arg;
    ct_event_wait(&gate);
    return NULL;
}

static void *task(void *arg)
{
    struct fut *x = arg;
    x->ran++;
    x->order = ran_counter++;
    return (void *)((uintptr_t)(x - futs) + 100);
}

static void on_done(ct_future_t *f, void *arg)
{
    struct fut *x = arg;
    FUZZ_CHECK(ct_future_done(f), "callback of a future that is not done");
    x->callbacks++;
}

struct model {
    bool valid, shut, blocked;       /* blocked: the blocker holds the worker */
    ct_future_t blocker;
};

static void check_settled(struct fut *x)
{
    if (x->st == M_FINISHED) {
        void *out = NULL;
        FUZZ_EXPECT_RC(ct_future_result(&x->f, &out, 0), CT_OK, "result of a finished future");
        FUZZ_CHECK((uintptr_t)out == (uintptr_t)(x - futs) + 100, "wrong result");
        FUZZ_CHECK(x->ran == 1, "finished task ran %d times", x->ran);
        FUZZ_CHECK(!ct_future_cancelled(&x->f), "finished future reads cancelled");
    } else if (x->st == M_CANCELLED) {
        void *out = NULL;
        FUZZ_EXPECT_RC(ct_future_result(&x->f, &out, 0), CT_ECANCELLED, "result of a cancelled future");
        FUZZ_CHECK(x->ran == 0, "cancelled task ran");
        FUZZ_CHECK(ct_future_cancelled(&x->f), "cancelled future does not read cancelled");
    }
    if (x->st == M_FINISHED || x->st == M_CANCELLED) {
        FUZZ_CHECK(ct_future_done(&x->f), "settled future not done");
        FUZZ_CHECK(x->callbacks == x->added, "%d callbacks added, %d ran", x->added, x->callbacks);
    }
}

/* Opens the gate and waits for every pending future; they must have run in
 * submission order. */
static void drain(struct model *m)
{
    int first = ran_counter, drained = 0;
    ct_event_set(&gate);
    if (m->blocked)
        FUZZ_EXPECT_RC(ct_future_wait(&m->blocker, CT_SEC(10)), CT_OK, "blocker");
    m->blocked = false;
    for (int i = 0; i < NF; i++) {
        struct fut *x = &futs[i];
        if (x->st != M_PENDING)
            continue;
        FUZZ_EXPECT_RC(ct_future_wait(&x->f, CT_SEC(10)), CT_OK, "wait for a drained future");
        x->st = M_FINISHED;
        x->seq = -x->seq - 1;        /* mark as drained now */
        drained++;
        check_settled(x);
    }
    FUZZ_CHECK(ran_counter - first == drained, "%d tasks ran, %d expected", ran_counter - first,
               drained);
    for (int i = 0; i < NF; i++)
        for (int j = 0; j < NF; j++)
            if (futs[i].seq < 0 && futs[j].seq < 0 && -futs[i].seq < -futs[j].seq)
                FUZZ_CHECK(futs[i].order < futs[j].order, "tasks ran out of submission order");
    for (int i = 0; i < NF; i++)
        if (futs[i].seq < 0)
            futs[i].seq = -futs[i].seq - 1;
    ct_event_clear(&gate);
}

static void block_worker(ct_executor_t *ex, struct model *m)
{
    if (m->blocked || m->shut)
        return;
    memset(&m->blocker, 0, sizeof m->blocker);
    FUZZ_EXPECT_RC(ct_executor_submit(ex, &m->blocker, blocker, NULL), CT_OK, "blocker submit");
    m->blocked = true;
}

static void new_executor(ct_executor_t *ex, struct model *m)
{
    ct_executor_options_t o = { .max_workers = 1 };
    FUZZ_EXPECT_RC(ct_executor_init(ex, &o), CT_OK, "init");
    m->valid = true;
    m->shut = false;
    m->blocked = false;
    ct_event_clear(&gate);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    ct_executor_t ex;
    struct model m = { 0 };

    memset(futs, 0, sizeof futs);
    ran_counter = submit_counter = 0;
    new_executor(&ex, &m);
    for (int steps = 0; in.n > 0 && steps < 96; steps++) {
        uint8_t op = fuzz_u8(&in);
        struct fut *x = &futs[(op >> 4) % NF];
        switch (op % 10) {
        case 0: case 1: {           /* submit into x */
            if (!m.valid)
                break;
            block_worker(&ex, &m);
            int want = m.shut ? CT_ESHUTDOWN : x->st == M_PENDING ? CT_EBUSY : CT_OK;
            FUZZ_EXPECT_RC(ct_executor_submit(&ex, &x->f, task, x), want, "submit");
            if (want == CT_OK) {
                x->st = M_PENDING;
                x->ran = x->callbacks = x->added = 0;
                x->seq = submit_counter++;
            }
            break;
        }
        case 2: {                   /* cancel */
            bool want = x->st != M_FINISHED;
            FUZZ_CHECK(ct_future_cancel(&x->f) == want, "cancel in model state %d", x->st);
            if (want) {
                x->st = M_CANCELLED;
                check_settled(x);
            }
            break;
        }
        case 3: {                   /* wait / result with any timeout */
            int64_t t = fuzz_timeout(&in);
            int want = fuzz_timeout_code(t);
            if (want == CT_OK) {
                if (x->st == M_IDLE)
                    want = CT_EINVAL;
                else if (x->st == M_PENDING) {
                    t = fuzz_shorten(t);
                    want = CT_ETIMEDOUT;
                }
            }
            void *out = NULL;
            int64_t t0 = ct__now_ns();
            int rc = (op & 0x80) ? ct_future_result(&x->f, &out, t) : ct_future_wait(&x->f, t);
            int64_t took = ct__now_ns() - t0;
            if ((op & 0x80) && want == CT_OK && x->st == M_CANCELLED)
                want = CT_ECANCELLED;
            FUZZ_EXPECT_RC(rc, want, "wait/result");
            FUZZ_NOT_EARLY(rc, took, t, "wait/result");
            break;
        }
        case 4: {                   /* add a done callback */
            bool settled = x->st == M_FINISHED || x->st == M_CANCELLED;
            int want = x->st == M_IDLE ? CT_EINVAL
                     : !settled && x->added == CT_FUTURE_MAX_CALLBACKS ? CT_EOVERFLOW : CT_OK;
            int before = x->callbacks;
            FUZZ_EXPECT_RC(ct_future_add_done_callback(&x->f, on_done, x), want, "add_done_callback");
            if (want == CT_OK) {
                x->added++;
                bool done = x->st == M_FINISHED || x->st == M_CANCELLED;
                FUZZ_CHECK(x->callbacks == before + (done ? 1 : 0),
                           "callback on a done future did not run at once");
            }
            break;
        }
        case 5:                     /* open the gate: everything pending runs */
            if (m.valid)
                drain(&m);
            break;
        case 6: {                   /* shutdown */
            if (!m.valid)
                break;
            bool wait = op & 0x10, cancel = op & 0x20;
            if (cancel) {
                FUZZ_EXPECT_RC(ct_executor_shutdown(&ex, wait && !m.blocked, true), CT_OK, "shutdown");
                if (m.blocked && ct_future_cancelled(&m.blocker))
                    m.blocked = false;       /* the blocker had not started yet */
                for (int i = 0; i < NF; i++) {
                    if (futs[i].st == M_PENDING) {
                        futs[i].st = M_CANCELLED;
                        check_settled(&futs[i]);
                    }
                }
            } else {
                FUZZ_EXPECT_RC(ct_executor_shutdown(&ex, false, false), CT_OK, "shutdown");
                if (wait)
                    drain(&m);
            }
            m.shut = true;
            break;
        }
        case 7: {                   /* destroy (and re-init) */
            if (!m.valid)
                break;
            bool unfinished = m.blocked;
            for (int i = 0; i < NF; i++)
                unfinished |= futs[i].st == M_PENDING;
            int want = !m.shut || unfinished ? CT_EBUSY : CT_OK;
            FUZZ_EXPECT_RC(ct_executor_destroy(&ex), want, "destroy");
            if (want == CT_OK)
                new_executor(&ex, &m);
            break;
        }
        case 8: {                   /* a never-submitted future, bad timeouts */
            ct_future_t idle = CT_FUTURE_INIT;
            void *out;
            FUZZ_EXPECT_RC(ct_future_wait(&idle, 0), CT_EINVAL, "wait on an idle future");
            FUZZ_CHECK(!ct_future_done(&idle), "idle future done");
            FUZZ_EXPECT_RC(ct_future_wait(&x->f, -7), CT_EINVAL, "bad timeout");
            FUZZ_EXPECT_RC(ct_future_result(&x->f, &out, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW,
                           "bad timeout");
            break;
        }
        default:                    /* check every settled future */
            for (int i = 0; i < NF; i++)
                check_settled(&futs[i]);
            break;
        }
    }
    /* Tear down: run what is pending, shut down, destroy. */
    drain(&m);
    for (int i = 0; i < NF; i++)
        check_settled(&futs[i]);
    FUZZ_EXPECT_RC(ct_executor_shutdown(&ex, true, false), CT_OK, "final shutdown");
    FUZZ_EXPECT_RC(ct_executor_destroy(&ex), CT_OK, "final destroy");
    return 0;
}
