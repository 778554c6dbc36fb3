/* Event: every behaviour of CPython's EventTests (is_set, notify, timeout,
 * set-then-clear #13502), bad input, publication of writes, and stress: an
 * Event flapped by one thread while others wait (no waiter hangs). */
#include <string.h>
#include "ct_test.h"
#include "helpers.h"
#include "internal/platform.h"
#include "internal/event_word.h"   /* white-box: WAITERS */

#define N 5

Test(event, size_and_zero_initialised_is_clear)
{
    ct_event_t e;
    ct_event_t s = CT_EVENT_INIT;
    memset(&e, 0, sizeof e);
    cr_assert_eq(sizeof(ct_event_t), 4u);
    cr_assert_not(ct_event_is_set(&e));
    cr_assert_not(ct_event_is_set(&s));
    cr_assert_eq(ct_event_wait_timed(&e, 0), CT_ETIMEDOUT);
}

Test(event, is_set)
{
    ct_event_t e = CT_EVENT_INIT;
    cr_assert_not(ct_event_is_set(&e));
    ct_event_set(&e);
    cr_assert(ct_event_is_set(&e));
    ct_event_set(&e);
    cr_assert(ct_event_is_set(&e));
    ct_event_clear(&e);
    cr_assert_not(ct_event_is_set(&e));
    ct_event_clear(&e);
    cr_assert_not(ct_event_is_set(&e));
}

Test(event, set_event_returns_at_once)
{
    ct_event_t e = CT_EVENT_INIT;
    ct_event_set(&e);
    ct_event_wait(&e);
    cr_assert_eq(ct_event_wait_timed(&e, 0), CT_OK);
    cr_assert_eq(ct_event_wait_timed(&e, CT_SEC(60)), CT_OK);
    cr_assert_eq(ct_event_wait_timed(&e, CT_FOREVER), CT_OK);
    cr_assert(ct_event_is_set(&e), "waiting must not consume the flag");
}

Test(event, bad_timeouts)
{
    ct_event_t e = CT_EVENT_INIT;
    cr_assert_eq(ct_event_wait_timed(&e, -2), CT_EINVAL);
    cr_assert_eq(ct_event_wait_timed(&e, INT64_MIN), CT_EINVAL);
    cr_assert_eq(ct_event_wait_timed(&e, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
    ct_event_set(&e);
    cr_assert_eq(ct_event_wait_timed(&e, -2), CT_EINVAL, "checked even when set");
    cr_assert_eq(ct_event_wait_timed(&e, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
    cr_assert_eq(ct_event_wait_timed(&e, CT_TIMEOUT_MAX), CT_OK);
}

/* ---- CPython _check_notify: every waiter is woken, twice ------------------- */
struct notify_ctx { ct_event_t e; atomic_int started, first, second; };

static void wait_twice(void *p)
{
    struct notify_ctx *c = p;
    atomic_fetch_add(&c->started, 1);
    ct_event_wait(&c->e);
    atomic_fetch_add(&c->first, 1);
    if (ct_event_wait_timed(&c->e, CT_FOREVER) == CT_OK)
        atomic_fetch_add(&c->second, 1);
}

static void check_notify(struct notify_ctx *c)
{
    ct_thread_t t[N];
    atomic_store(&c->started, 0);
    atomic_store(&c->first, 0);
    atomic_store(&c->second, 0);
    for (int i = 0; i < N; i++)
        cr_assert_eq(ct_thread_start(&t[i], wait_twice, c), CT_OK);
    cr_assert_eq(t_await_count(&c->started, N), N);
    t_pause_ms(20);                                  /* widen the window only */
    cr_assert_eq(atomic_load(&c->first), 0, "returned before set");
    ct_event_set(&c->e);
    for (int i = 0; i < N; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
    cr_assert_eq(atomic_load(&c->first), N);
    cr_assert_eq(atomic_load(&c->second), N);
}

Test(event, notify_wakes_every_waiter, .timeout = 60)
{
    static struct notify_ctx c;
    memset(&c, 0, sizeof c);
    check_notify(&c);
    ct_event_set(&c.e);                            /* again, after a clear */
    ct_event_clear(&c.e);
    check_notify(&c);
}

/* ---- CPython test_timeout ---------------------------------------------------- */
struct timeout_ctx { ct_event_t e; atomic_int poll_ok, wait_ok, early; };

static void wait_timeouts(void *p)
{
    struct timeout_ctx *c = p;
    if (ct_event_wait_timed(&c->e, 0) == CT_OK)
        atomic_fetch_add(&c->poll_ok, 1);
    int64_t t0 = t_now();
    int rc = ct_event_wait_timed(&c->e, CT_MS(50));
    int64_t took = t_now() - t0;
    if (rc == CT_OK)
        atomic_fetch_add(&c->wait_ok, 1);
    else if (took < CT_MS(50) || took > CT_MS(50) + T_SLACK)
        atomic_fetch_add(&c->early, 1);
}

static void run_timeouts(struct timeout_ctx *c)
{
    ct_thread_t t[N];
    for (int i = 0; i < N; i++)
        cr_assert_eq(ct_thread_start(&t[i], wait_timeouts, c), CT_OK);
    for (int i = 0; i < N; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
}

Test(event, timeout, .timeout = 60)
{
    static struct timeout_ctx c;
    memset(&c, 0, sizeof c);
    run_timeouts(&c);
    cr_assert_eq(atomic_load(&c.poll_ok), 0);
    cr_assert_eq(atomic_load(&c.wait_ok), 0);
    cr_assert_eq(atomic_load(&c.early), 0, "a timed wait ended too early or too late");
    ct_event_set(&c.e);
    run_timeouts(&c);
    cr_assert_eq(atomic_load(&c.poll_ok), N);
    cr_assert_eq(atomic_load(&c.wait_ok), N);
}

/* ---- CPython test_set_and_clear (#13502) -------------------------------------- */
struct flap_once_ctx { ct_event_t e; atomic_int started, ok, timedout; };

static void wait_long(void *p)
{
    struct flap_once_ctx *c = p;
    atomic_fetch_add(&c->started, 1);
    int rc = ct_event_wait_timed(&c->e, CT_SEC(30));
    atomic_fetch_add(rc == CT_OK ? &c->ok : &c->timedout, 1);
}

static void set_and_clear_round(bool let_them_park)
{
    static struct flap_once_ctx c;
    ct_thread_t t[N];
    memset(&c, 0, sizeof c);
    for (int i = 0; i < N; i++)
        cr_assert_eq(ct_thread_start(&t[i], wait_long, &c), CT_OK);
    cr_assert_eq(t_await_count(&c.started, N), N);
    if (let_them_park)
        t_pause_ms(30);                              /* most are asleep by now */
    ct_event_set(&c.e);
    ct_event_clear(&c.e);
    for (int i = 0; i < N; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
    cr_assert_eq(atomic_load(&c.ok), N, "a waiter missed the set");
    cr_assert_eq(atomic_load(&c.timedout), 0);
    cr_assert_not(ct_event_is_set(&c.e));
}

Test(event, set_then_clear_wakes_every_waiter, .timeout = 120)
{
    set_and_clear_round(true);
    /* And with waiters still spinning (set and clear between two reads). */
    for (int i = 0; i < 50 / STRESS_SCALE + 2; i++)
        set_and_clear_round(false);
}

/* ---- set publishes the setter's writes ---------------------------------------- */
struct publish_ctx { ct_event_t ready, done; long data[64]; long sum; };

static void reader(void *p)
{
    struct publish_ctx *c = p;
    ct_event_wait(&c->ready);
    for (int i = 0; i < 64; i++)
        c->sum += c->data[i];
    ct_event_set(&c->done);
}

Test(event, set_publishes_writes, .timeout = 60)
{
    static struct publish_ctx c;
    ct_thread_t t;
    for (int round = 0; round < 200; round++) {
        memset(&c, 0, sizeof c);
        cr_assert_eq(ct_thread_start(&t, reader, &c), CT_OK);
        for (int i = 0; i < 64; i++)
            c.data[i] = i + round;
        ct_event_set(&c.ready);
        ct_event_wait(&c.done);
        cr_assert_eq(c.sum, 64L * 63 / 2 + 64L * round);
        cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    }
}

/* ---- ping-pong through two events (set, wait, clear) -------------------------- */
struct pingpong { ct_event_t ping, pong; long rounds; };

static void ponger(void *p)
{
    struct pingpong *pp = p;
    for (long i = 0; i < pp->rounds; i++) {
        ct_event_wait(&pp->ping);
        ct_event_clear(&pp->ping);
        ct_event_set(&pp->pong);
    }
}

Test(event, ping_pong_hand_offs, .timeout = 120)
{
    static struct pingpong pp;
    ct_thread_t t;
    memset(&pp, 0, sizeof pp);
    pp.rounds = 20000 / STRESS_SCALE;
    cr_assert_eq(ct_thread_start(&t, ponger, &pp), CT_OK);
    for (long i = 0; i < pp.rounds; i++) {
        ct_event_set(&pp.ping);
        cr_assert_eq(ct_event_wait_timed(&pp.pong, CT_SEC(30)), CT_OK, "round %ld", i);
        ct_event_clear(&pp.pong);
    }
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
}

/* ---- one thread flaps the event while others wait: no waiter hangs ----------- */
#define FLAP_WAITERS 6
#define FLAP_WAITS (3000 / STRESS_SCALE)

struct flap_ctx { ct_event_t e; atomic_int finished, hung; atomic_long flaps; };

static void flap_waiter(void *p)
{
    struct flap_ctx *c = p;
    for (int i = 0; i < FLAP_WAITS; i++) {
        /* The flapper keeps setting until every waiter is done: a wait that
         * sleeps through 10 s of sets has missed its wake-up. */
        if (ct_event_wait_timed(&c->e, CT_SEC(10)) != CT_OK) {
            atomic_fetch_add(&c->hung, 1);
            break;
        }
        if (i % 4 == 0)
            ct_event_clear(&c->e);                 /* waiters clear too */
    }
    atomic_fetch_add(&c->finished, 1);
}

Test(event, flapped_event_never_strands_a_waiter, .timeout = 300)
{
    static struct flap_ctx c;
    ct_thread_t t[FLAP_WAITERS];
    memset(&c, 0, sizeof c);
    for (int i = 0; i < FLAP_WAITERS; i++)
        cr_assert_eq(ct_thread_start(&t[i], flap_waiter, &c), CT_OK);
    for (long k = 0; atomic_load(&c.finished) < FLAP_WAITERS; k++) {
        ct_event_set(&c.e);
        ct_event_clear(&c.e);
        atomic_fetch_add(&c.flaps, 1);
        if (k % 32 == 0)
            t_pause(CT_US(30));  /* let waiters fall asleep */
    }
    for (int i = 0; i < FLAP_WAITERS; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
    cr_assert_eq(atomic_load(&c.hung), 0, "a waiter slept through the sets");
}

/* White-box: a set with no waiter leaves no sleeper mark behind (so the next
 * set makes no system call), and a parked waiter's mark is cleared by set. */
struct park_ctx { ct_event_t e; atomic_int started; };

static void park_waiter(void *p)
{
    struct park_ctx *c = p;
    atomic_store(&c->started, 1);
    ct_event_wait(&c->e);
}

Test(event, sleeper_mark_only_while_someone_sleeps, .timeout = 60)
{
    static struct park_ctx c;
    ct_thread_t t;
    memset(&c, 0, sizeof c);
    ct_event_set(&c.e);
    ct_event_clear(&c.e);
    cr_assert_eq(c.e.state & WAITERS, 0u, "no waiter, yet marked");
    cr_assert_eq(ct_thread_start(&t, park_waiter, &c), CT_OK);
    cr_assert(t_await(&c.started, CT_SEC(30)));
    cr_assert(T_AWAIT(__atomic_load_n(&c.e.state, __ATOMIC_RELAXED) & WAITERS, CT_SEC(30)),
              "waiter never parked");
    ct_event_set(&c.e);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(c.e.state & WAITERS, 0u, "set must clear the mark");
    cr_assert(ct_event_is_set(&c.e));
}
