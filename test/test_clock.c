/* ct_now_ns and ct_sleep: monotonic, never early, signals do not shorten it. */
#include "ct_test.h"
#include "helpers.h"

Test(clock, now_is_monotonic_and_agrees_with_the_library_clock)
{
    int64_t prev = ct_now_ns();
    for (int i = 0; i < 100000; i++) {
        int64_t now = ct_now_ns();
        cr_assert_geq(now, prev);
        prev = now;
    }
    int64_t a = t_now(), b = ct_now_ns(), c = t_now();
    cr_assert(a <= b && b <= c, "public and internal clocks are the same clock");
}

Test(clock, sleep_is_never_early_and_checks_its_argument)
{
    cr_assert_eq(ct_sleep(-2), CT_EINVAL);
    cr_assert_eq(ct_sleep(INT64_MIN), CT_EINVAL);
    cr_assert_eq(ct_sleep(CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
    cr_assert_eq(ct_sleep(0), CT_OK);
    int64_t lens[] = { 1, CT_US(10), CT_US(500), CT_MS(3), CT_MS(20) };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        int64_t t0 = ct_now_ns();
        cr_assert_eq(ct_sleep(lens[i]), CT_OK);
        int64_t took = ct_now_ns() - t0;
        cr_assert_geq(took, lens[i], "slept %lld of %lld ns", (long long)took, (long long)lens[i]);
        cr_assert_lt(took, lens[i] + T_SLACK);
    }
}

#if !defined(_WIN32)
#include <pthread.h>
#include <signal.h>

static atomic_int signals_seen;
static void on_usr1(int sig) { (void)sig; atomic_fetch_add(&signals_seen, 1); }

struct sleeper { pthread_t self; atomic_int ready, done; int rc; int64_t took; };
static void sleeper_main(void *p)
{
    struct sleeper *s = p;
    s->self = pthread_self();
    atomic_store(&s->ready, 1);
    int64_t t0 = ct_now_ns();
    s->rc = ct_sleep(CT_MS(300));
    s->took = ct_now_ns() - t0;
    atomic_store(&s->done, 1);
}

Test(clock, sleep_is_not_shortened_by_a_signal_storm, .timeout = 120)
{
    struct sigaction sa = { 0 }, old;
    static struct sleeper s;
    ct_thread_t t;

    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;                      /* no SA_RESTART: the sleep sees EINTR */
    cr_assert_eq(sigaction(SIGUSR1, &sa, &old), 0);
    memset(&s, 0, sizeof s);
    atomic_store(&signals_seen, 0);
    cr_assert_eq(ct_thread_start(&t, sleeper_main, &s), CT_OK);
    cr_assert(t_await(&s.ready, CT_SEC(30)));
    while (!atomic_load(&s.done)) {       /* a signal every ~100 µs */
        pthread_kill(s.self, SIGUSR1);
        ct_sleep(CT_US(100));
    }
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    sigaction(SIGUSR1, &old, NULL);
    cr_assert_eq(s.rc, CT_OK);
    cr_assert_geq(s.took, CT_MS(300), "shortened by signals: %lld ns", (long long)s.took);
    cr_assert_lt(s.took, CT_MS(300) + T_SLACK);
#if !defined(CT__TSAN)
    cr_assert_gt(atomic_load(&signals_seen), 10, "the storm did not reach the sleeper");
#endif
}
#endif
