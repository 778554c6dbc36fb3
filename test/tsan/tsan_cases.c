/* Programs that must (or must not) make ThreadSanitizer report.
 *
 * `tsan_cases NAME` runs one case.  test/tsan/CMakeLists.txt registers each
 * case as a ctest test in TSan builds: the "report" cases must print the
 * named TSan warning (lock-order inversion, unlock of an unlocked mutex, data
 * race), the "clean" cases must exit 0 without any TSan output.  Together they
 * show that Lock, RLock, a Condition's lock and the GIL are mutexes to TSan
 * exactly like pthread mutexes (lock-order inversions among them are
 * reported), that the legitimate cross-thread release of a Lock and a
 * Condition's waits raise nothing, and that the annotations do not hide a
 * real race.
 *
 * To add a primitive: write its cases here (one static function each) and
 * add them to `cases[]` and to the lists in CMakeLists.txt.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cthreading.h>
#include "../helpers.h"   /* t_pause, t_spawn_n, t_join_n */

static void run(void (*fn)(void *), void *arg)
{
    ct_thread_t t;
    if (ct_thread_start(&t, fn, arg) != CT_OK || ct_thread_join(&t, CT_FOREVER) != CT_OK) {
        fprintf(stderr, "thread start/join failed\n");
        exit(2);
    }
}

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "check failed: %s\n", what);
        exit(3);
    }
}

/* ---- lock-order inversions ------------------------------------------------------ */
static ct_lock_t lock_a, lock_b, lock_c;
enum how { BLOCKING, FOREVER, TRY, TIMED };
static enum how second_how;

static void take(ct_lock_t *l, enum how h)
{
    switch (h) {
    case BLOCKING: ct_lock_acquire(l); break;
    case FOREVER: check(ct_lock_acquire_timed(l, CT_FOREVER) == CT_OK, "forever"); break;
    case TRY: check(ct_lock_try_acquire(l), "try"); break;
    case TIMED: check(ct_lock_acquire_timed(l, CT_SEC(10)) == CT_OK, "timed"); break;
    }
}

static void a_then_b(void *p)
{
    (void)p;
    ct_lock_acquire(&lock_a);
    ct_lock_acquire(&lock_b);
    ct_lock_release(&lock_b);
    ct_lock_release(&lock_a);
}

static void b_then_a(void *p)
{
    (void)p;
    ct_lock_acquire(&lock_b);
    take(&lock_a, second_how);
    ct_lock_release(&lock_a);
    ct_lock_release(&lock_b);
}

/* The two orders never overlap in time (join in between): TSan must report
 * the potential deadlock anyway, as it does for pthread mutexes. */
static void inversion(enum how h)
{
    second_how = h;
    run(a_then_b, NULL);
    run(b_then_a, NULL);
}
static void case_inversion(void) { inversion(BLOCKING); }
static void case_inversion_forever(void) { inversion(FOREVER); }
/* A try-lock or a finite timed acquire cannot deadlock: no report, as for
 * pthread_mutex_trylock / pthread_mutex_timedlock. */
static void case_inversion_try(void) { inversion(TRY); }
static void case_inversion_timed(void) { inversion(TIMED); }

static void case_consistent_order(void)
{
    run(a_then_b, NULL);
    run(a_then_b, NULL);
    ct_lock_acquire(&lock_a);
    ct_lock_acquire(&lock_b);
    ct_lock_acquire(&lock_c);
    ct_lock_release(&lock_c);
    ct_lock_release(&lock_b);
    ct_lock_release(&lock_a);
}

/* Three locks, three threads, a cycle of length 3. */
static void b_then_c(void *p)
{
    (void)p;
    ct_lock_acquire(&lock_b);
    ct_lock_acquire(&lock_c);
    ct_lock_release(&lock_c);
    ct_lock_release(&lock_b);
}
static void c_then_a(void *p)
{
    (void)p;
    ct_lock_acquire(&lock_c);
    ct_lock_acquire(&lock_a);
    ct_lock_release(&lock_a);
    ct_lock_release(&lock_c);
}
static void case_inversion_cycle3(void)
{
    run(a_then_b, NULL);
    run(b_then_c, NULL);
    run(c_then_a, NULL);
}

/* ---- releasing an unlocked lock ---------------------------------------------------- */
static void case_release_unlocked(void)
{
    check(ct_lock_release(&lock_a) == CT_EPERM, "EPERM");
}

static void case_double_release(void)
{
    ct_lock_acquire(&lock_a);
    check(ct_lock_release(&lock_a) == CT_OK, "first release");
    check(ct_lock_release(&lock_a) == CT_EPERM, "second release");
}

static void release_a(void *p)
{
    *(int *)p = ct_lock_release(&lock_a);
}

/* After a legitimate cross-thread release, a release of the now unlocked lock
 * is still a bug TSan must name. */
static void case_double_release_after_handoff(void)
{
    int rc = 99;
    ct_lock_acquire(&lock_a);
    run(release_a, &rc);
    check(rc == CT_OK, "cross-thread release");
    check(ct_lock_release(&lock_a) == CT_EPERM, "second release");
}

/* ---- legitimate cross-thread release ------------------------------------------------ */
static void case_cross_thread_release(void)
{
    int rc = 99;
    ct_lock_acquire(&lock_a);
    run(release_a, &rc);
    check(rc == CT_OK, "cross-thread release");
    check(!ct_lock_locked(&lock_a), "unlocked");
    /* The acquirer uses it again, blocking and try, then orders it with
     * another lock: no double lock, no phantom inversion. */
    ct_lock_acquire(&lock_a);
    check(ct_lock_release(&lock_a) == CT_OK, "release");
    check(ct_lock_try_acquire(&lock_a), "try");
    ct_lock_acquire(&lock_b);
    ct_lock_release(&lock_b);
    check(ct_lock_release(&lock_a) == CT_OK, "release");
    ct_lock_acquire(&lock_b);
    ct_lock_acquire(&lock_a);
    ct_lock_release(&lock_a);
    ct_lock_release(&lock_b);
}

/* The acquirer never touches the lock again, but keeps locking others: its
 * phantom hold must not create false lock-order reports. */
static void lock_b_then_c_twice(void *p)
{
    (void)p;
    b_then_c(NULL);
    c_then_a(NULL);    /* a is a signalling lock by now: no edge into it */
}
static void case_phantom_hold(void)
{
    int rc = 99;
    ct_lock_acquire(&lock_a);
    run(release_a, &rc);
    check(rc == CT_OK, "cross-thread release");
    ct_lock_acquire(&lock_b);      /* phantom a -> b */
    ct_lock_release(&lock_b);
    run(lock_b_then_c_twice, NULL);
}

/* A Lock as a binary semaphore: producer acquires, consumer releases, passing
 * plain data each round.  TSan must see the happens-before edge through the
 * lock (no race report) with or without the annotations. */
#define PINGS 2000
static ct_lock_t full = CT_LOCK_INIT, empty = CT_LOCK_INIT;
static long mailbox;               /* plain: ordered by the two locks */

static void consumer(void *p)
{
    long sum = 0;
    for (int i = 0; i < PINGS; i++) {
        ct_lock_acquire(&full);    /* wait until the producer filled it */
        sum += mailbox;
        mailbox = -1;
        check(ct_lock_release(&empty) == CT_OK, "release empty");
    }
    *(long *)p = sum;
}

static void case_handoff_pingpong(void)
{
    ct_thread_t t;
    long sum = 0;
    ct_lock_acquire(&full);        /* full: held = "nothing to read" */
    check(ct_thread_start(&t, consumer, &sum) == CT_OK, "start");
    for (int i = 1; i <= PINGS; i++) {
        ct_lock_acquire(&empty);   /* empty: held = "mailbox in use" */
        mailbox = i;
        /* Released by the thread that took it only in round 1: afterwards
         * the consumer holds full and this thread holds empty, so both
         * locks are released by a thread other than their acquirer. */
        check(ct_lock_release(&full) == CT_OK, "release full");
    }
    check(ct_thread_join(&t, CT_FOREVER) == CT_OK, "join");
    check(sum == (long)PINGS * (PINGS + 1) / 2, "sum");
}

/* Mutex use with occasional hand-off of the release to a helper thread while
 * other threads contend (some inside the pre_lock bracket when the lock turns
 * signalling).  A plain counter protected by the lock must not race. */
#define MIX_THREADS 4
#define MIX_ITERS 3000
static ct_lock_t mix_lock;
static long mix_counter;
static atomic_int release_request;  /* 1: the helper must release mix_lock */
static atomic_int mix_done;

static void mix_worker(void *p)
{
    int id = *(const int *)p;
    for (int i = 0; i < MIX_ITERS; i++) {
        ct_lock_acquire(&mix_lock);
        mix_counter++;
        if (id == 0 && i % 100 == 50) {
            atomic_store_explicit(&release_request, 1, memory_order_release);
            while (atomic_load_explicit(&release_request, memory_order_acquire) != 0)
                t_pause(CT_US(10));
        } else {
            check(ct_lock_release(&mix_lock) == CT_OK, "release");
        }
    }
}

static void mix_helper(void *p)
{
    (void)p;
    while (!atomic_load(&mix_done)) {
        if (atomic_load_explicit(&release_request, memory_order_acquire)) {
            check(ct_lock_release(&mix_lock) == CT_OK, "helper release");
            atomic_store_explicit(&release_request, 0, memory_order_release);
        }
    }
}

static void case_mixed_mutex_and_handoff(void)
{
    ct_thread_t w[MIX_THREADS], h;
    int ids[MIX_THREADS];
    for (int i = 0; i < MIX_THREADS; i++)
        ids[i] = i;
    check(ct_thread_start(&h, mix_helper, NULL) == CT_OK, "start");
    check(t_spawn_n(w, MIX_THREADS, mix_worker, ids, sizeof ids[0]) == CT_OK, "start");
    check(t_join_n(w, MIX_THREADS) == CT_OK, "join");
    atomic_store(&mix_done, 1);
    check(ct_thread_join(&h, CT_FOREVER) == CT_OK, "join");
    ct_lock_acquire(&mix_lock);
    check(mix_counter == (long)MIX_THREADS * MIX_ITERS, "counter");
    ct_lock_release(&mix_lock);
}

/* ---- TSan still sees real races ----------------------------------------------------- */
static long shared;

static void write_under(void *p)
{
    ct_lock_t *l = p;
    ct_lock_acquire(l);
    shared++;
    ct_lock_release(l);
}

static void write_unlocked(void *p) { (void)p; shared++; }

/* Two writers under *different* locks race: the annotations must not order
 * them. */
static void case_race_under_different_locks(void)
{
    ct_thread_t t1, t2;
    check(ct_thread_start(&t1, write_under, &lock_a) == CT_OK, "start");
    check(ct_thread_start(&t2, write_under, &lock_b) == CT_OK, "start");
    ct_thread_join(&t1, CT_FOREVER);
    ct_thread_join(&t2, CT_FOREVER);
}

static void case_race_unlocked(void)
{
    ct_thread_t t1, t2;
    check(ct_thread_start(&t1, write_unlocked, NULL) == CT_OK, "start");
    check(ct_thread_start(&t2, write_unlocked, NULL) == CT_OK, "start");
    ct_thread_join(&t1, CT_FOREVER);
    ct_thread_join(&t2, CT_FOREVER);
}

/* Same lock: ordered, no race. */
static void case_same_lock_no_race(void)
{
    ct_thread_t t1, t2;
    check(ct_thread_start(&t1, write_under, &lock_a) == CT_OK, "start");
    check(ct_thread_start(&t2, write_under, &lock_a) == CT_OK, "start");
    ct_thread_join(&t1, CT_FOREVER);
    ct_thread_join(&t2, CT_FOREVER);
}

/* ---- RLock ------------------------------------------------------------------------------ */
static ct_rlock_t rlock_r, rlock_s;

static void r_then_a(void *p)
{
    (void)p;
    check(ct_rlock_acquire(&rlock_r) == CT_OK, "rlock");
    check(ct_rlock_acquire(&rlock_r) == CT_OK, "rlock re-entry");
    ct_lock_acquire(&lock_a);
    ct_lock_release(&lock_a);
    check(ct_rlock_release(&rlock_r) == CT_OK && ct_rlock_release(&rlock_r) == CT_OK, "release");
}

static void a_then_r(void *p)
{
    (void)p;
    ct_lock_acquire(&lock_a);
    check(ct_rlock_acquire(&rlock_r) == CT_OK, "rlock");
    check(ct_rlock_release(&rlock_r) == CT_OK, "release");
    ct_lock_release(&lock_a);
}

static void r_then_s(void *p)
{
    (void)p;
    check(ct_rlock_acquire(&rlock_r) == CT_OK, "rlock");
    check(ct_rlock_acquire_timed(&rlock_s, CT_FOREVER) == CT_OK, "rlock s");
    check(ct_rlock_release(&rlock_s) == CT_OK && ct_rlock_release(&rlock_r) == CT_OK, "release");
}

static void s_then_r(void *p)
{
    (void)p;
    check(ct_rlock_acquire(&rlock_s) == CT_OK, "rlock s");
    check(ct_rlock_acquire(&rlock_s) == CT_OK, "rlock s re-entry");
    check(ct_rlock_acquire(&rlock_r) == CT_OK, "rlock");
    check(ct_rlock_release(&rlock_r) == CT_OK, "release");
    check(ct_rlock_release(&rlock_s) == CT_OK && ct_rlock_release(&rlock_s) == CT_OK, "release");
}

/* RLock and Lock taken in both orders (at different times): a potential
 * deadlock TSan must report, as for a recursive pthread mutex. */
static void case_rlock_lock_inversion(void)
{
    run(r_then_a, NULL);
    run(a_then_r, NULL);
}

static void case_rlock_rlock_inversion(void)
{
    run(r_then_s, NULL);
    run(s_then_r, NULL);
}

/* Re-entry and a consistent order across threads: no report. */
static long rlock_data;
static void rlock_worker(void *p)
{
    (void)p;
    for (int i = 0; i < 500; i++) {
        check(ct_rlock_acquire(&rlock_r) == CT_OK, "rlock");
        if (i % 2)
            check(ct_rlock_try_acquire(&rlock_r), "re-entry by try");
        else
            check(ct_rlock_acquire_timed(&rlock_r, CT_MS(1)) == CT_OK, "timed re-entry");
        rlock_data++;
        ct_lock_acquire(&lock_a);
        ct_lock_release(&lock_a);
        check(ct_rlock_release(&rlock_r) == CT_OK && ct_rlock_release(&rlock_r) == CT_OK,
              "release");
    }
}
static void case_rlock_clean(void)
{
    ct_thread_t t1, t2;
    check(ct_thread_start(&t1, rlock_worker, NULL) == CT_OK, "start");
    check(ct_thread_start(&t2, rlock_worker, NULL) == CT_OK, "start");
    ct_thread_join(&t1, CT_FOREVER);
    ct_thread_join(&t2, CT_FOREVER);
    check(rlock_data == 1000, "rlock_data");
}

/* ---- Condition ----------------------------------------------------------------------------- */
/* Producer / consumer through a bounded queue of plain ints under a Condition:
 * waits release the lock (all levels of an RLock) and re-take it; TSan must
 * see ordinary mutex use — no double lock, no inversion, no race. */
#define QCAP 4
#define ITEMS 2000
struct queue { ct_cond_t c; int buf[QCAP]; int head, len; long sum; bool rlock; };
static ct_lock_t cond_lock;
static ct_rlock_t cond_rlock;

static void cond_enter(struct queue *q)
{
    check(ct_cond_acquire(&q->c) == CT_OK, "cond acquire");
    if (q->rlock)
        check(ct_cond_acquire(&q->c) == CT_OK, "cond re-entry");
}

static void cond_leave(struct queue *q)
{
    check(ct_cond_release(&q->c) == CT_OK, "cond release");
    if (q->rlock)
        check(ct_cond_release(&q->c) == CT_OK, "cond release");
}

static void producer(void *p)
{
    struct queue *q = p;
    for (int i = 1; i <= ITEMS; i++) {
        cond_enter(q);
        while (q->len == QCAP)
            check(ct_cond_wait_timed(&q->c, i % 3 ? CT_FOREVER : CT_MS(1)) != CT_EPERM, "wait");
        q->buf[(q->head + q->len++) % QCAP] = i;
        check(ct_cond_notify_all(&q->c) >= 0, "notify_all");
        cond_leave(q);
    }
}

static bool nonempty(void *p) { return ((struct queue *)p)->len > 0; }

static void consumer_q(void *p)
{
    struct queue *q = p;
    for (int i = 0; i < ITEMS / 2; i++) {
        cond_enter(q);
        check(ct_cond_wait_for(&q->c, nonempty, q, CT_FOREVER) == CT_OK, "wait_for");
        q->sum += q->buf[q->head];
        q->head = (q->head + 1) % QCAP;
        q->len--;
        check(ct_cond_notify(&q->c, 2) >= 0, "notify");
        cond_leave(q);
    }
}

static void cond_case(struct queue *q)
{
    ct_thread_t pr, c1, c2;
    check(ct_thread_start(&c1, consumer_q, q) == CT_OK, "start");
    check(ct_thread_start(&c2, consumer_q, q) == CT_OK, "start");
    check(ct_thread_start(&pr, producer, q) == CT_OK, "start");
    ct_thread_join(&pr, CT_FOREVER);
    ct_thread_join(&c1, CT_FOREVER);
    ct_thread_join(&c2, CT_FOREVER);
    check(q->sum == (long)ITEMS * (ITEMS + 1) / 2 && q->len == 0, "sum");
}

static void case_cond_lock_clean(void)
{
    static struct queue q;
    ct_cond_init(&q.c, &cond_lock);
    cond_case(&q);
}

static void case_cond_own_rlock_clean(void)
{
    static struct queue q = { CT_COND_INIT, { 0 }, 0, 0, 0, true };
    cond_case(&q);
}

static void case_cond_rlock_clean(void)
{
    static struct queue q;
    ct_cond_init_rlock(&q.c, &cond_rlock);
    q.rlock = true;
    cond_case(&q);
}

/* The condition's lock is the bound Lock itself: an inversion through
 * ct_cond_acquire is reported like one through ct_lock_acquire. */
static ct_cond_t inv_cond;
static void cond_then_b(void *p)
{
    (void)p;
    check(ct_cond_acquire(&inv_cond) == CT_OK, "cond acquire");
    ct_lock_acquire(&lock_b);
    ct_lock_release(&lock_b);
    check(ct_cond_release(&inv_cond) == CT_OK, "cond release");
}
static void b_then_cond(void *p)
{
    (void)p;
    ct_lock_acquire(&lock_b);
    check(ct_cond_acquire(&inv_cond) == CT_OK, "cond acquire");
    check(ct_cond_wait_timed(&inv_cond, CT_US(10)) == CT_ETIMEDOUT, "wait");
    check(ct_cond_release(&inv_cond) == CT_OK, "cond release");
    ct_lock_release(&lock_b);
}
static void case_cond_inversion(void)
{
    ct_cond_init(&inv_cond, &lock_a);
    run(cond_then_b, NULL);
    run(b_then_cond, NULL);
}

/* ---- GIL -------------------------------------------------------------------------------------- */
static ct_gil_t gil;

static void gil_then_a(void *p)
{
    (void)p;
    check(ct_gil_acquire(&gil) == CT_OK, "gil");
    ct_lock_acquire(&lock_a);
    ct_lock_release(&lock_a);
    check(ct_gil_release(&gil) == CT_OK, "gil release");
}

static void a_then_gil(void *p)
{
    (void)p;
    ct_lock_acquire(&lock_a);
    ct_gil_state_t st = ct_gil_ensure(&gil);
    check(ct_gil_release_state(&gil, st) == CT_OK, "gil release_state");
    ct_lock_release(&lock_a);
}

/* The classic extension-module deadlock: one thread holds the GIL and takes
 * a lock, another holds the lock and takes the GIL. */
static void case_gil_lock_inversion(void)
{
    check(ct_gil_init(&gil, CT_GIL_CLASSIC) == CT_OK, "gil init");
    run(gil_then_a, NULL);
    run(a_then_gil, NULL);
    ct_gil_destroy(&gil);
}

/* The right way: release the GIL around the lock (ALLOW_THREADS), and
 * switch a lot (poll / yield) while sharing plain data under the GIL. */
static long gil_data;
static void gil_worker(void *p)
{
    (void)p;
    check(ct_gil_acquire(&gil) == CT_OK, "gil");
    for (int i = 0; i < 3000; i++) {
        gil_data++;
        if (i % 7 == 0)
            check(ct_gil_yield(&gil) >= 0, "yield");
        else
            check(ct_gil_poll(&gil) >= 0, "poll");
        if (i % 50 == 0) {
            CT_BEGIN_ALLOW_THREADS(&gil)
            ct_lock_acquire(&lock_a);
            ct_lock_release(&lock_a);
            CT_END_ALLOW_THREADS(&gil)
        }
    }
    check(ct_gil_release(&gil) == CT_OK, "gil release");
    for (int i = 0; i < 200; i++) {
        ct_gil_state_t st = ct_gil_ensure(&gil);
        gil_data++;
        check(ct_gil_release_state(&gil, st) == CT_OK, "release_state");
    }
}
static void case_gil_clean(void)
{
    ct_thread_t t[3];
    check(ct_gil_init(&gil, CT_GIL_PRIORITY) == CT_OK, "gil init");
    check(ct_gil_set_switch_interval(&gil, CT_US(50)) == CT_OK, "interval");
    check(t_spawn_n(t, 3, gil_worker, NULL, 0) == CT_OK, "start");
    (void)t_join_n(t, 3);
    check(gil_data == 3 * 3200, "gil_data");
    ct_gil_destroy(&gil);
}

/* ---- table ---------------------------------------------------------------------------- */
static const struct {
    const char *name;
    void (*fn)(void);
} cases[] = {
    { "inversion", case_inversion },
    { "inversion_forever", case_inversion_forever },
    { "inversion_cycle3", case_inversion_cycle3 },
    { "inversion_try", case_inversion_try },
    { "inversion_timed", case_inversion_timed },
    { "consistent_order", case_consistent_order },
    { "release_unlocked", case_release_unlocked },
    { "double_release", case_double_release },
    { "double_release_after_handoff", case_double_release_after_handoff },
    { "cross_thread_release", case_cross_thread_release },
    { "phantom_hold", case_phantom_hold },
    { "handoff_pingpong", case_handoff_pingpong },
    { "mixed_mutex_and_handoff", case_mixed_mutex_and_handoff },
    { "race_under_different_locks", case_race_under_different_locks },
    { "race_unlocked", case_race_unlocked },
    { "same_lock_no_race", case_same_lock_no_race },
    { "rlock_lock_inversion", case_rlock_lock_inversion },
    { "rlock_rlock_inversion", case_rlock_rlock_inversion },
    { "rlock_clean", case_rlock_clean },
    { "cond_lock_clean", case_cond_lock_clean },
    { "cond_own_rlock_clean", case_cond_own_rlock_clean },
    { "cond_rlock_clean", case_cond_rlock_clean },
    { "cond_inversion", case_cond_inversion },
    { "gil_lock_inversion", case_gil_lock_inversion },
    { "gil_clean", case_gil_clean },
};

int main(int argc, char **argv)
{
    if (argc == 2) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            if (strcmp(argv[1], cases[i].name) == 0) {
                cases[i].fn();
                printf("case %s finished\n", cases[i].name);
                return 0;
            }
        }
    }
    fprintf(stderr, "usage: tsan_cases NAME; names:");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        fprintf(stderr, " %s", cases[i].name);
    fprintf(stderr, "\n");
    return 2;
}
