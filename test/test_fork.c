/* fork() while the library's services are in use (issue 13, items 1 and 2):
 * a timer callback that forks, a fork while another thread is inside timer
 * calls, a fork inside a ct_local_foreach callback, and a fork while other
 * threads use locals and the GIL.  Every child checks that the services
 * still work and reports through its exit status; the parent fails on a
 * crash, a hang (killed after a bound) or a failed check.
 *
 * Under ThreadSanitizer the children start no thread: clang 14's TSan
 * runtime does not support threads in the child of a multi-threaded fork
 * (with die_after_fork=0 it fails internal CHECKs now and then), so there
 * the checks that need a thread in the child (firing a timer, the forking
 * callback's child after the callback) are left out; every other build runs
 * them.  Threads of the parent
 * that had finished but were not joined yet (an idle timer service waits to
 * be joined by the next one) look leaked to TSan when a child exits: this
 * binary turns TSan's thread-leak report off (report_thread_leaks=0). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ct_test.h"
#include "helpers.h"
#include "internal/timer.h"   /* white-box: the state word in a diagnostic */
#include "sanitizer_fork.h"   /* clang 14 ASan/TSan: allocator locks around fork */

#ifndef _WIN32
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fork_reap.h"   /* ct_test_reap */

#if defined(CT__TSAN)
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "report_thread_leaks=0"; }
#define CHILD_THREADS 0
#else
#define CHILD_THREADS 1
#endif

/* Shared with the children: the check a child is in (reported on a hang). */
static atomic_int *child_stage;

static void stage(int s)
{
    if (child_stage == NULL) {
        void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        child_stage = m == MAP_FAILED ? NULL : m;
    }
    if (child_stage != NULL)
        atomic_store(child_stage, s);
}

/* Waits for the child up to limit_ns; kills a child that hangs.  Returns its
 * exit code, 1000 + signal if it died of a signal, 2000 + its stage if it
 * hung. */
static int reap(pid_t pid, int64_t limit_ns)
{
    int code = ct_test_reap(pid, limit_ns, CT_MS(2));

    if (code == CT_TEST_REAP_HUNG && child_stage != NULL)
        code += atomic_load(child_stage);
    return code;
}

static void count_run(void *p) { atomic_fetch_add((atomic_int *)p, 1); }

/* Starts a timer, waits for it to fire: the child's timer service works.
 * Returns 1, or 0 after recording what failed in the shared stage word. */
static void stage(int s);
static int timer_works(int64_t interval)
{
    ct_timer_t t = CT_TIMER_INIT;
    atomic_int runs = 0;
    int rc;
    if (!CHILD_THREADS)
        return 1;                  /* see the header comment */
    if ((rc = ct_timer_start(&t, interval, count_run, &runs)) != CT_OK) {
        stage(100 - rc);
        return 0;
    }
    if ((rc = ct_timer_join(&t, CT_SEC(20))) != CT_OK) {
        fprintf(stderr, "child %d: timer not run after 20 s, state word %#x\n", (int)getpid(),
                atomic_load((_Atomic uint32_t *)&ct__timer_of(&t)->state));
        stage(200 - rc);
        return 0;
    }
    if (atomic_load(&runs) != 1 || ct_timer_is_alive(&t)) {
        stage(300 + atomic_load(&runs));
        return 0;
    }
    return 1;
}

static int local_works(void)
{
    ct_local_t k;
    int v = 0, ok;
    if (ct_local_init(&k, NULL, NULL, NULL) != CT_OK)
        return 0;
    ok = ct_local_get(&k) == NULL && ct_local_set(&k, &v) == CT_OK && ct_local_get(&k) == &v;
    ct_local_destroy(&k);
    return ok;
}

static int gil_works(ct_gil_t *g)
{
    ct_gil_state_t st = ct_gil_ensure(g);
    int ok = ct_gil_held(g);
    return ct_gil_release_state(g, st) == CT_OK && ok;
}

/* ---- a timer callback forks --------------------------------------------------------- */

static ct_timer_t forking_timer = CT_TIMER_INIT;
static atomic_int forking_runs;
static pid_t forked_pid;

/* In the child: runs on a fresh thread while the forking worker finishes its
 * callback and then idles out of the pool. */
static void child_checker(void *p)
{
    int code = 0;
    (void)p;
    if (ct_timer_join(&forking_timer, CT_SEC(10)) != CT_OK)
        code |= 1;                 /* the callback that forked completes */
    if (ct_timer_is_alive(&forking_timer))
        code |= 2;
    if (!timer_works(0))
        code |= 4;
    /* Let the forking worker idle out of the pool (WORKER_IDLE_NS = 2 s):
     * the pool must still be able to start workers afterwards. */
    t_pause_ms(2600);
    if (!timer_works(CT_MS(1)))
        code |= 8;
    if (!ct_timer_cancel(&forking_timer) && ct_timer_is_alive(&forking_timer))
        code |= 16;
    if (ct_timer_start(&forking_timer, 0, count_run, &forking_runs) != CT_OK ||
        ct_timer_join(&forking_timer, CT_SEC(10)) != CT_OK)
        code |= 32;                /* the forking timer can be restarted */
    fflush(NULL);
    _exit(code);
}

static void forking_callback(void *p)
{
    pid_t pid;
    (void)p;
    atomic_fetch_add(&forking_runs, 1);
    pid = fork();
    if (pid == 0) {
        static ct_thread_t checker;
        /* The running timer is alive here too: this worker is inside it. */
        if (!ct_timer_is_alive(&forking_timer))
            _exit(64);
        if (ct_timer_join(&forking_timer, 0) != CT_EDEADLK)
            _exit(65);
        if (!CHILD_THREADS)
            _exit(0);              /* see the header comment */
        if (ct_thread_start(&checker, child_checker, NULL) != CT_OK)
            _exit(66);
        return;                    /* the callback completes normally */
    }
    forked_pid = pid;
}

Test(fork, in_timer_callback, .timeout = 120)
{
    int code;

    atomic_store(&forking_runs, 0);
    cr_assert_eq(ct_timer_start(&forking_timer, 0, forking_callback, NULL), CT_OK);
    cr_assert_eq(ct_timer_join(&forking_timer, CT_SEC(30)), CT_OK);
    cr_assert_gt(forked_pid, 0, "fork failed");
    code = reap(forked_pid, CT_SEC(60));
    cr_assert_eq(code, 0, "child of a forking timer callback: code %d", code);
}

/* ---- fork while another thread is inside timer calls -------------------------------- */

#define CHURN_TIMERS 64
#define IDLE_TIMERS 2000

struct churn {
    ct_timer_t t[CHURN_TIMERS];
    ct_timer_t idle[IDLE_TIMERS];
    atomic_int runs, stop;
};

static void churn_main(void *p)
{
    struct churn *c = p;
    for (unsigned i = 0; !atomic_load(&c->stop); i++) {
        ct_timer_t *t = &c->t[i % CHURN_TIMERS];
        if (ct_timer_start(t, CT_SEC(3600), count_run, &c->runs) == CT_OK)
            (void)ct_timer_cancel(t);
    }
}

static int churn_child(struct churn *c)
{
    int code = 0;
    for (int i = 0; i < CHURN_TIMERS; i++) {
        /* Pending in the parent: reads as cancelled here; never broken. */
        if (ct_timer_is_alive(&c->t[i]) || !ct_timer_cancel(&c->t[i]))
            code |= 1;
        if (ct_timer_join(&c->t[i], CT_MS(100)) != CT_OK)
            code |= 2;
    }
    for (int i = 0; i < IDLE_TIMERS; i++)
        if (ct_timer_is_alive(&c->idle[i]) || !ct_timer_cancel(&c->idle[i]))
            code |= 4;
    if (CHILD_THREADS && (ct_timer_start(&c->t[0], 0, count_run, &c->runs) != CT_OK ||
                          ct_timer_join(&c->t[0], CT_SEC(20)) != CT_OK))
        code |= 8;                 /* a parent's timer can be started again */
    if (!timer_works(0))
        code |= 16;
    return code;
}

Test(fork, while_timer_calls_run, .timeout = 300)
{
    struct churn *c = calloc(1, sizeof *c);
    int forks = 300 / STRESS_SCALE, bad = 0, first = 0;
    ct_thread_t th;

    cr_assert_not_null(c);
    for (int i = 0; i < IDLE_TIMERS; i++)
        cr_assert_eq(ct_timer_start(&c->idle[i], CT_SEC(3600), count_run, &c->runs), CT_OK);
    cr_assert_eq(ct_thread_start(&th, churn_main, c), CT_OK);
    for (int i = 0; i < forks; i++) {
        pid_t pid = fork();
        int code;
        cr_assert_geq(pid, 0);
        if (pid == 0)
            _exit(churn_child(c));
        code = reap(pid, CT_SEC(60));
        if (code != 0) {
            bad++;
            if (first == 0)
                first = code;
        }
    }
    atomic_store(&c->stop, 1);
    cr_assert_eq(ct_thread_join(&th, CT_SEC(30)), CT_OK);
    for (int i = 0; i < IDLE_TIMERS; i++)
        cr_assert(ct_timer_cancel(&c->idle[i]));
    for (int i = 0; i < CHURN_TIMERS; i++)
        cr_assert(ct_timer_cancel(&c->t[i]));
    cr_assert_eq(atomic_load(&c->runs), 0);
    free(c);
    cr_assert_eq(bad, 0, "%d of %d children failed (first code %d)", bad, forks, first);
}

/* ---- fork inside a ct_local_foreach callback ---------------------------------------- */

#define HOLDERS 4

struct visit {
    ct_local_t k;
    ct_event_t release;
    atomic_int ready;
    int values[HOLDERS + 1];
    atomic_int visits;
    pid_t pid;
    int in_child;
};

static void value_holder(void *p)
{
    struct visit *v = p;
    int i = atomic_fetch_add(&v->ready, 1);
    ct_local_set(&v->k, &v->values[i]);
    (void)ct_event_wait(&v->release);
}

static void forking_visit(void *value, void *arg)
{
    struct visit *v = arg;
    if (v->in_child) {
        atomic_fetch_add(&v->visits, 1000);  /* visited a vanished thread's value */
        return;
    }
    if (v->pid < 0)
        return;
    /* Fork on the first value of another thread: its record is gone in the
     * child while the visit still points at it. */
    atomic_fetch_add(&v->visits, 1);
    if (value != &v->values[HOLDERS] && v->pid == 0) {
        pid_t pid = fork();
        if (pid == 0)
            v->in_child = 1;
        else
            v->pid = pid > 0 ? pid : -1;
    }
}

static void count_mine(void *value, void *arg)
{
    (void)value;
    (*(int *)arg)++;
}

Test(fork, in_local_foreach_callback, .timeout = 60)
{
    struct visit *v = calloc(1, sizeof *v);
    ct_thread_t th[HOLDERS];
    int code;

    cr_assert_not_null(v);
    cr_assert_eq(ct_local_init(&v->k, NULL, NULL, NULL), CT_OK);
    cr_assert_eq(ct_local_set(&v->k, &v->values[HOLDERS]), CT_OK);
    for (int i = 0; i < HOLDERS; i++)
        cr_assert_eq(ct_thread_start(&th[i], value_holder, v), CT_OK);
    cr_assert_eq(t_await_count(&v->ready, HOLDERS), HOLDERS);
    /* Every holder has stored its value once the local is visible. */
    for (int tries = 0;; tries++) {
        int n = 0;
        ct_local_foreach(&v->k, count_mine, &n);
        if (n == HOLDERS + 1)
            break;
        cr_assert_lt(tries, 10000);
        t_pause_ms(1);
    }
    ct_local_foreach(&v->k, forking_visit, v);
    if (v->in_child) {
        int c = 0, n = 0;
        if (atomic_load(&v->visits) >= 1000)
            c |= 1;                /* the visit went on over vanished threads */
        ct_local_foreach(&v->k, count_mine, &n);
        if (n != 1)
            c |= 2;                /* only the forking thread's value is left */
        if (ct_local_get(&v->k) != &v->values[HOLDERS])
            c |= 4;
        if (!local_works())
            c |= 8;
        ct_local_destroy(&v->k);
        if (!local_works())
            c |= 16;
        _exit(c);
    }
    cr_assert_eq(atomic_load(&v->visits), HOLDERS + 1, "the parent's visit is complete");
    cr_assert_gt(v->pid, 0, "fork failed");
    code = reap(v->pid, CT_SEC(30));
    ct_event_set(&v->release);
    for (int i = 0; i < HOLDERS; i++)
        cr_assert_eq(ct_thread_join(&th[i], CT_SEC(30)), CT_OK);
    ct_local_destroy(&v->k);
    free(v);
    cr_assert_eq(code, 0, "child forked inside ct_local_foreach: code %d", code);
}

/* ---- fork while other threads use locals and the GIL -------------------------------- */

struct busy {
    ct_gil_t g;
    atomic_int stop;
};

static void local_churn(void *p)
{
    struct busy *b = p;
    int v;
    while (!atomic_load(&b->stop)) {
        ct_local_t k;
        if (ct_local_init(&k, NULL, NULL, NULL) != CT_OK)
            continue;
        ct_local_set(&k, &v);
        (void)ct_local_get(&k);
        ct_local_destroy(&k);
    }
}

static void gil_churn(void *p)
{
    struct busy *b = p;
    while (!atomic_load(&b->stop)) {
        ct_gil_state_t st = ct_gil_ensure(&b->g);
        (void)ct_gil_poll(&b->g);
        ct_gil_release_state(&b->g, st);
    }
}

Test(fork, while_locals_and_gil_are_used, .timeout = 300)
{
    struct busy *b = calloc(1, sizeof *b);
    ct_thread_t th[3];
    int forks = 200 / STRESS_SCALE, bad = 0, first = 0;

    cr_assert_not_null(b);
    stage(0);
    cr_assert_eq(ct_gil_init(&b->g, CT_GIL_PRIORITY), CT_OK);
    cr_assert_eq(ct_thread_start(&th[0], local_churn, b), CT_OK);
    cr_assert_eq(ct_thread_start(&th[1], gil_churn, b), CT_OK);
    cr_assert_eq(ct_thread_start(&th[2], gil_churn, b), CT_OK);
    for (int i = 0; i < forks; i++) {
        pid_t pid = fork();
        int code;
        cr_assert_geq(pid, 0);
        if (pid == 0) {
            int c = 0;
            stage(1);
            if (!local_works())
                c |= 1;
            stage(2);
            if (!gil_works(&b->g))
                c |= 2;
            stage(3);
            if (ct_gil_destroy(&b->g) != CT_OK)
                c |= 4;
            stage(4);
            if (!timer_works(0))
                c |= 8;
            else
                stage(5);
            _exit(c);
        }
        code = reap(pid, CT_SEC(60));
        if (code != 0) {
            bad++;
            if (first == 0)
                first = code * 1000 + (child_stage != NULL ? atomic_load(child_stage) : 0);
        }
    }
    atomic_store(&b->stop, 1);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ct_thread_join(&th[i], CT_SEC(30)), CT_OK);
    cr_assert_eq(ct_gil_destroy(&b->g), CT_OK);
    free(b);
    cr_assert_eq(bad, 0, "%d of %d children failed (first code %d)", bad, forks, first);
}
#endif
