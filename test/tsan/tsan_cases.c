/* Programs that must (or must not) make ThreadSanitizer report.
 *
 * `tsan_cases NAME` runs one case.  test/tsan/CMakeLists.txt registers each
 * case as a ctest test in TSan builds: the "report" cases must print the
 * named TSan warning (lock-order inversion, unlock of an unlocked mutex, data
 * race), the "clean" cases must exit 0 without any TSan output.  Together they
 * show that Lock is a mutex to TSan exactly like pthread_mutex_t, that the
 * legitimate cross-thread release of a Lock raises nothing, and that the
 * annotations do not hide a real race.
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
    int id = (int)(intptr_t)p;
    for (int i = 0; i < MIX_ITERS; i++) {
        ct_lock_acquire(&mix_lock);
        mix_counter++;
        if (id == 0 && i % 100 == 50) {
            atomic_store_explicit(&release_request, 1, memory_order_release);
            while (atomic_load_explicit(&release_request, memory_order_acquire) != 0)
                ct_wait(&(uint32_t){0}, 0, CT_US(10));
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
    check(ct_thread_start(&h, mix_helper, NULL) == CT_OK, "start");
    for (int i = 0; i < MIX_THREADS; i++)
        check(ct_thread_start(&w[i], mix_worker, (void *)(intptr_t)i) == CT_OK, "start");
    for (int i = 0; i < MIX_THREADS; i++)
        check(ct_thread_join(&w[i], CT_FOREVER) == CT_OK, "join");
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
