/* Shared memory: regions (create, open by name, close, unlink, bad input)
 * and every primitive that must work across processes, with exact
 * invariants, between forked children and separate programs that open the
 * region by name (test/shm/peer.c), plus the owner death of an RLock.
 *
 * Where the build's wait backend cannot wait across processes (Windows, the
 * parking backend) the region calls must refuse with CT_ENOTSUP, and that
 * is all this file checks there.
 *
 * Children are forked while the parent has one thread, and each result
 * comes back through the exit status (ct_test_reap kills a hung child).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ct_test.h"
#include "helpers.h"
#include "sanitizer_fork.h"
#include "shm/roles.h"

#if !defined(_WIN32) && defined(CT_TEST_SHM_SHARES)
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fork_reap.h"

extern char **environ;

#define REAP_LIMIT CT_SEC(120)

/* Under ThreadSanitizer a child of a fork starts no thread (clang 14's
 * runtime refuses threads after a multi-threaded fork, and its own
 * background thread makes every process multi-threaded); it sees nothing
 * of the other processes anyway.  Programs started by name are not forks. */
#if defined(CT__TSAN)
#define CHILD_THREADS_MAX 1
#else
#define CHILD_THREADS_MAX ROLE_MAX_THREADS
#endif

static void region_name(char *buf, size_t n, const char *what)
{
    (void)snprintf(buf, n, "/ct_test_%s_%ld", what, (long)getpid());
}

/* An anonymous region holding a zeroed arena, with its primitives set up. */
static struct arena *arena_new(ct_shm_t *r, unsigned parties)
{
    struct arena *a;

    cr_assert_eq(ct_shm_create(r, NULL, sizeof *a), CT_OK);
    a = ct_shm_base(r);
    cr_assert_eq(ct_sem_init_bounded(&a->sem, ARENA_SEM_BOUND), CT_OK);
    if (parties > 0)
        cr_assert_eq(ct_barrier_init(&a->barrier, parties, NULL, NULL, CT_FOREVER), CT_OK);
    ct_cond_init(&a->cond, &a->cond_lock);
    return a;
}

#define CHILD_THREADS(n) ((n) < CHILD_THREADS_MAX ? (n) : CHILD_THREADS_MAX)

/* Forks a child that returns fn's result as its exit status. */
typedef int (*child_fn)(struct arena *a, int n, int threads);

static pid_t fork_child(child_fn fn, struct arena *a, int n, int threads)
{
    pid_t pid;

    if (threads > CHILD_THREADS_MAX)
        threads = CHILD_THREADS_MAX;
    pid = fork();
    if (pid == 0)
        _exit(fn(a, n, threads));
    cr_assert(pid > 0, "fork failed");
    return pid;
}

/* Starts the peer program on the named region. */
static pid_t spawn_peer(const char *name, const char *role, int n, int threads)
{
    char ns[16], ts[16];
    char *argv[] = { (char *)CT_TEST_SHM_PEER, (char *)name, (char *)role, ns, ts, NULL };
    pid_t pid;

    (void)snprintf(ns, sizeof ns, "%d", n);
    (void)snprintf(ts, sizeof ts, "%d", threads);
    cr_assert_eq(posix_spawn(&pid, CT_TEST_SHM_PEER, NULL, NULL, argv, environ), 0,
                 "cannot start %s", CT_TEST_SHM_PEER);
    return pid;
}

static void reap_ok(pid_t pid, const char *what)
{
    int st = ct_test_reap(pid, REAP_LIMIT, CT_MS(2));
    cr_assert_eq(st, 0, "%s: child %ld ended with %d", what, (long)pid, st);
}

static int child_count(struct arena *a, int n, int threads) { return role_count(a, threads, n); }
static int child_go(struct arena *a, int n, int threads) { (void)n, (void)threads; return role_go(a); }
static int child_barrier(struct arena *a, int n, int threads) { (void)threads; return role_barrier(a, n); }
static int child_consume(struct arena *a, int n, int threads) { (void)threads; return role_consume(a, n); }
static int child_hold(struct arena *a, int n, int threads) { (void)n, (void)threads; return role_hold(a); }

/* ---- regions ------------------------------------------------------------------- */

Test(shm, anonymous_region_is_zeroed_aligned_and_known)
{
    ct_shm_t r = { 0 };
    unsigned char *p;

    cr_assert_eq(ct_shm_create(&r, NULL, 10000), CT_OK);
    p = ct_shm_base(&r);
    cr_assert_not_null(p);
    cr_assert_eq((uintptr_t)p % 64, 0);
    cr_assert_eq(ct_shm_size(&r), 10000);
    for (size_t i = 0; i < 10000; i++)
        cr_assert_eq(p[i], 0);
    cr_assert(ct_shm_contains(p) && ct_shm_contains(p + 9999));
    cr_assert(!ct_shm_contains(p + 10000) && !ct_shm_contains(p - 1));
    cr_assert(!ct_shm_contains(&r));
    cr_assert_eq(ct_shm_close(&r), CT_OK);
    cr_assert_null(ct_shm_base(&r));
    cr_assert_eq(ct_shm_size(&r), 0);
    cr_assert(!ct_shm_contains(p));
    cr_assert_eq(ct_shm_close(&r), CT_EINVAL, "a second close is refused");
}

Test(shm, bad_input_is_refused_and_changes_nothing)
{
    ct_shm_t r, keep;
    char longname[300];

    memset(&r, 0x5a, sizeof r);
    keep = r;
    cr_assert_eq(ct_shm_create(&r, NULL, 0), CT_EINVAL);
    cr_assert_eq(ct_shm_create(&r, "noslash", 64), CT_EINVAL);
    cr_assert_eq(ct_shm_create(&r, "/", 64), CT_EINVAL);
    cr_assert_eq(ct_shm_create(&r, "/a/b", 64), CT_EINVAL);
    memset(longname, 'x', sizeof longname - 1);
    longname[0] = '/';
    longname[sizeof longname - 1] = '\0';
    cr_assert_eq(ct_shm_create(&r, longname, 64), CT_EINVAL);
    cr_assert_eq(ct_shm_open(&r, "/ct_test_no_such_region_ever"), CT_EINVAL);
    cr_assert_eq(ct_shm_open(&r, NULL), CT_EINVAL);
    cr_assert_eq(ct_shm_create(&r, NULL, SIZE_MAX - 10), CT_ENOMEM);
    cr_assert_eq(memcmp(&r, &keep, sizeof r), 0, "the handle changed on an error");
    cr_assert_eq(ct_shm_unlink("/ct_test_no_such_region_ever"), CT_EINVAL);
    cr_assert_eq(ct_shm_unlink("bad"), CT_EINVAL);
    memset(&r, 0, sizeof r);
    cr_assert_eq(ct_shm_close(&r), CT_EINVAL);
}

Test(shm, named_region_opens_elsewhere_and_unlinks)
{
    char name[64];
    ct_shm_t a, b, c;
    uint32_t *pa, *pb;

    region_name(name, sizeof name, "named");
    cr_assert_eq(ct_shm_create(&a, name, 5000), CT_OK);
    cr_assert_eq(ct_shm_create(&c, name, 5000), CT_EBUSY, "exists already");
    cr_assert_eq(ct_shm_open(&b, name), CT_OK);
    cr_assert_eq(ct_shm_size(&b), 5000);
    pa = ct_shm_base(&a);
    pb = ct_shm_base(&b);
    cr_assert_neq((void *)pa, (void *)pb, "two mappings, two addresses");
    pa[1000] = 0xfeedu;
    cr_assert_eq(pb[1000], 0xfeedu);
    cr_assert_eq(ct_shm_unlink(name), CT_OK);
    cr_assert_eq(ct_shm_open(&c, name), CT_EINVAL, "unlinked");
    pb[7] = 42;                            /* mappings outlive the name */
    cr_assert_eq(pa[7], 42u);
    cr_assert_eq(ct_shm_close(&b), CT_OK);
    cr_assert_eq(ct_shm_close(&a), CT_OK);
    cr_assert_eq(ct_shm_unlink(name), CT_EINVAL);
}

Test(shm, the_registry_has_a_limit_and_frees_slots)
{
    static ct_shm_t r[CT_SHM_MAX + 1];
    int n = 0;

    while (n <= CT_SHM_MAX && ct_shm_create(&r[n], NULL, 64) == CT_OK)
        n++;
    cr_assert_eq(n, CT_SHM_MAX, "exactly CT_SHM_MAX regions at once");
    cr_assert_eq(ct_shm_create(&r[n], NULL, 64), CT_EAGAIN);
    cr_assert_eq(ct_shm_close(&r[3]), CT_OK);
    cr_assert_eq(ct_shm_create(&r[3], NULL, 64), CT_OK, "a closed slot is reused");
    for (int i = 0; i < n; i++)
        cr_assert_eq(ct_shm_close(&r[i]), CT_OK);
}

/* Regions come and go on one thread while another asks about an address
 * outside all of them: the answer must never be "inside".  (Before the
 * registry's sequence locks a lookup could read one range's hi and the
 * next state's lo = 0 and say yes for an instant; an RLock there would
 * then have run the region's word protocol on the Lock's encoding.) */
struct churn {
    atomic_bool stop;
    atomic_long cycles;
    atomic_int rc;                        /* read by the looking thread as it loops */
};

static void churn_main(void *p)
{
    struct churn *c = p;
    while (!atomic_load(&c->stop)) {
        ct_shm_t r = { 0 };
        int rc = ct_shm_create(&r, NULL, 4096);
        if (rc == CT_OK)
            rc = ct_shm_close(&r);
        if (rc != CT_OK) {
            atomic_store(&c->rc, rc);
            return;
        }
        atomic_fetch_add(&c->cycles, 1);
    }
}

Test(shm, an_address_outside_every_region_never_looks_inside_while_regions_come_and_go)
{
    static char outside;                  /* in the data segment: below the mappings */
    ct_shm_t keep = { 0 };
    struct churn c = { false, 0, CT_OK };
    ct_thread_t t;
    long wrong = 0, looks = 0;

    /* One region that stays, so that a lookup always scans a used slot
     * beside the churning one. */
    cr_assert_eq(ct_shm_create(&keep, NULL, 4096), CT_OK);
    cr_assert_eq(ct_thread_start(&t, churn_main, &c), CT_OK);
    while (atomic_load(&c.cycles) < 20000 && atomic_load(&c.rc) == CT_OK) {
        wrong += ct_shm_contains(&outside);
        looks++;
    }
    atomic_store(&c.stop, true);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(atomic_load(&c.rc), CT_OK);
    cr_assert_eq(wrong, 0, "%ld of %ld lookups put an outside address in a region", wrong, looks);
    cr_assert(ct_shm_contains(ct_shm_base(&keep)));
    cr_assert_eq(ct_shm_close(&keep), CT_OK);
}

/* ---- primitives across forked processes ---------------------------------------------- */

Test(shm, lock_rlock_semaphore_exact_across_forked_processes)
{
    enum { PROCS = 4, THREADS = 2, ITERS = 3000 };
    ct_shm_t r;
    struct arena *a = arena_new(&r, 0);
    pid_t pid[PROCS];

    for (int i = 0; i < PROCS; i++)
        pid[i] = fork_child(child_count, a, ITERS, THREADS);
    cr_assert_eq(role_count(a, 1, ITERS), 0);
    for (int i = 0; i < PROCS; i++)
        reap_ok(pid[i], "count");
    cr_assert_eq(a->counter, (uint64_t)(PROCS * CHILD_THREADS(THREADS) + 1) * ITERS,
                 "Lock lost an update");
    cr_assert_eq(a->rcounter, (uint64_t)(PROCS * CHILD_THREADS(THREADS) + 1) * ITERS,
                 "RLock lost an update");
    cr_assert_leq(atomic_load(&a->max_inside), ARENA_SEM_BOUND);
    cr_assert_eq(ct_sem_value(&a->sem), ARENA_SEM_BOUND);
    cr_assert_eq(atomic_load(&a->failures), 0);
    cr_assert(!ct_lock_locked(&a->lock));
    cr_assert_eq(ct_shm_close(&r), CT_OK);
}

Test(shm, event_set_then_clear_wakes_every_waiter_in_every_process)
{
    enum { PROCS = 4 };
    ct_shm_t r;
    struct arena *a = arena_new(&r, 0);
    pid_t pid[PROCS];

    for (int i = 0; i < PROCS; i++)
        pid[i] = fork_child(child_go, a, 0, 1);
    cr_assert(T_AWAIT(atomic_load(&a->go_waiting) == PROCS, CT_SEC(60)));
    t_pause(CT_MS(20));                    /* widen: let them reach the sleep */
    ct_event_set(&a->go);
    ct_event_clear(&a->go);                /* CPython #13502: still wakes them */
    for (int i = 0; i < PROCS; i++)
        reap_ok(pid[i], "event");
    cr_assert_eq(ct_shm_close(&r), CT_OK);
}

Test(shm, barrier_generations_across_processes)
{
    enum { PROCS = 3, GENS = 40 };
    ct_shm_t r;
    struct arena *a = arena_new(&r, PROCS + 1);
    pid_t pid[PROCS];

    for (int i = 0; i < PROCS; i++)
        pid[i] = fork_child(child_barrier, a, GENS, 1);
    cr_assert_eq(role_barrier(a, GENS), 0);
    for (int i = 0; i < PROCS; i++)
        reap_ok(pid[i], "barrier");
    for (int g = 0; g < GENS; g++)
        cr_assert_eq(atomic_load(&a->arrivals[g]), PROCS + 1u);
    cr_assert_eq(ct_shm_close(&r), CT_OK);
}

Test(shm, condition_delivers_each_item_once_across_processes)
{
    enum { PROCS = 3, ITEMS = 400 };
    ct_shm_t r;
    struct arena *a = arena_new(&r, 0);
    pid_t pid[PROCS];

    for (int i = 0; i < PROCS; i++)
        pid[i] = fork_child(child_consume, a, ITEMS, 1);
    for (int i = 0; i < PROCS * ITEMS; i++) {
        ct_lock_acquire(&a->cond_lock);
        a->cond_items++;
        cr_assert_geq(ct_cond_notify(&a->cond, 1), 0);
        (void)ct_lock_release(&a->cond_lock);
    }
    for (int i = 0; i < PROCS; i++)
        reap_ok(pid[i], "consume");
    cr_assert_eq(a->cond_items, 0, "every item consumed exactly once");
    cr_assert_eq(ct_shm_close(&r), CT_OK);
}

/* Every notify that reports k woke exactly k waiters: each child waits
 * once and exits 0 only if its wait returned CT_OK; the parent notifies one
 * at a time until the reports add up.  A lost notification leaves a child
 * asleep (reaped as hung); a spurious return shows as a child exiting
 * before its notification was counted. */
static int child_wait_once(struct arena *a, int n, int threads)
{
    int rc;

    (void)n, (void)threads;
    ct_lock_acquire(&a->cond_lock);
    atomic_fetch_add(&a->go_waiting, 1);
    rc = ct_cond_wait_timed(&a->cond, CT_SEC(60));
    a->cond_items++;                       /* under the lock: woken count */
    (void)ct_lock_release(&a->cond_lock);
    return rc == CT_OK ? 0 : 8;
}

Test(shm, condition_notify_counts_are_exact_across_processes)
{
    enum { PROCS = 5 };
    ct_shm_t r;
    struct arena *a = arena_new(&r, 0);
    pid_t pid[PROCS];
    int reported = 0;

    for (int i = 0; i < PROCS; i++)
        pid[i] = fork_child(child_wait_once, a, 0, 1);
    cr_assert(T_AWAIT(atomic_load(&a->go_waiting) == PROCS, CT_SEC(60)));
    ct_lock_acquire(&a->cond_lock);       /* every child is inside its wait now */
    cr_assert_eq(ct_cond_notify(&a->cond, 2), 2);
    reported = 2;
    (void)ct_lock_release(&a->cond_lock);
    cr_assert(T_AWAIT((ct_lock_acquire(&a->cond_lock), reported == a->cond_items
                       ? ((void)ct_lock_release(&a->cond_lock), true)
                       : ((void)ct_lock_release(&a->cond_lock), false)), CT_SEC(60)),
              "two notified waiters returned");
    ct_lock_acquire(&a->cond_lock);
    cr_assert_eq(a->cond_items, 2, "notify(2) woke more than 2");
    cr_assert_eq(ct_cond_notify_all(&a->cond), PROCS - 2);
    cr_assert_eq(ct_cond_notify_all(&a->cond), 0, "nobody is left unchosen");
    (void)ct_lock_release(&a->cond_lock);
    for (int i = 0; i < PROCS; i++)
        reap_ok(pid[i], "wait once");
    cr_assert_eq(a->cond_items, PROCS);
    cr_assert_eq(ct_shm_close(&r), CT_OK);
}

static int child_own_cond(struct arena *a, int n, int threads)
{
    int rc = 0;

    (void)n, (void)threads;
    if (ct_cond_acquire(&a->own_cond) != CT_OK || ct_cond_acquire(&a->own_cond) != CT_OK)
        return 9;
    atomic_fetch_add(&a->go_waiting, 1);
    while (a->own_flag == 0 && rc == CT_OK)
        rc = ct_cond_wait_timed(&a->own_cond, CT_SEC(60));
    if (rc != CT_OK || !ct_cond_is_owned(&a->own_cond))
        return 10;
    (void)ct_cond_release(&a->own_cond);
    (void)ct_cond_release(&a->own_cond);
    return 0;
}

Test(shm, zeroed_condition_with_its_own_rlock_across_processes)
{
    enum { PROCS = 3 };
    ct_shm_t r;
    struct arena *a = arena_new(&r, 0);
    pid_t pid[PROCS];

    for (int i = 0; i < PROCS; i++)
        pid[i] = fork_child(child_own_cond, a, 0, 1);
    cr_assert(T_AWAIT(atomic_load(&a->go_waiting) == PROCS, CT_SEC(60)));
    cr_assert_eq(ct_cond_acquire(&a->own_cond), CT_OK);
    a->own_flag = 1;
    cr_assert_geq(ct_cond_notify_all(&a->own_cond), 0);
    cr_assert_eq(ct_cond_release(&a->own_cond), CT_OK);
    for (int i = 0; i < PROCS; i++)
        reap_ok(pid[i], "own cond");
    cr_assert_eq(ct_shm_close(&r), CT_OK);
}

static int child_hold_lock(struct arena *a, int n, int threads)
{
    (void)n, (void)threads;
    ct_lock_acquire(&a->lock);
    (void)ct_sem_release(&a->ready, 1);
    (void)ct_sem_acquire_timed(&a->sem, CT_SEC(60)); /* released by the parent */
    (void)ct_lock_release(&a->lock);
    return 0;
}

Test(shm, timeouts_across_processes_are_never_early)
{
    ct_shm_t r;
    struct arena *a = arena_new(&r, 0);
    pid_t pid;
    int64_t t0, waited;

    cr_assert_eq(ct_sem_init(&a->sem, 0), CT_OK);
    pid = fork_child(child_hold_lock, a, 0, 1);
    cr_assert_eq(ct_sem_acquire_timed(&a->ready, CT_SEC(60)), CT_OK);
    for (int i = 0; i < 3; i++) {
        t0 = t_now();
        cr_assert_eq(ct_lock_acquire_timed(&a->lock, CT_MS(30)), CT_ETIMEDOUT);
        waited = t_now() - t0;
        cr_assert_geq(waited, CT_MS(30), "woke after %lld ns", (long long)waited);
    }
    cr_assert_eq(ct_sem_release(&a->sem, 1), CT_OK);
    cr_assert_eq(ct_lock_acquire_timed(&a->lock, CT_SEC(60)), CT_OK, "released by the child");
    (void)ct_lock_release(&a->lock);
    reap_ok(pid, "hold lock");
    cr_assert_eq(ct_shm_close(&r), CT_OK);
}

/* Waits for the victim while `killer` kills its holder; returns how long
 * after the kill the take-over came. */
static int64_t take_over_after_kill(struct arena *a, pid_t holder)
{
    int64_t killed;
    int st;

    cr_assert_eq(ct_sem_acquire_timed(&a->ready, CT_SEC(60)), CT_OK, "the holder holds it");
    cr_assert_eq(ct_rlock_acquire_timed(&a->victim, CT_MS(20)), CT_ETIMEDOUT,
                 "held by a live process");
    cr_assert(!ct_rlock_is_owned(&a->victim));
    cr_assert_eq(kill(holder, SIGKILL), 0);
    killed = t_now();
    cr_assert_eq(ct_rlock_acquire_timed(&a->victim, CT_SEC(30)), CT_EOWNERDEAD);
    killed = t_now() - killed;
    cr_assert(ct_rlock_is_owned(&a->victim));
    cr_assert_eq(ct_rlock_count(&a->victim), 1, "taken over once, not inherited levels");
    cr_assert_eq(ct_rlock_release(&a->victim), CT_OK);
    cr_assert_eq(ct_rlock_release(&a->victim), CT_EPERM);
    cr_assert_eq(ct_rlock_acquire(&a->victim), CT_OK, "an ordinary lock again");
    cr_assert_eq(ct_rlock_release(&a->victim), CT_OK);
    cr_assert_eq(waitpid(holder, &st, 0), holder);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    return killed;
}

Test(shm, rlock_of_a_killed_process_is_taken_over_with_eownerdead)
{
    ct_shm_t r;
    struct arena *a = arena_new(&r, 0);
    int64_t after;

    after = take_over_after_kill(a, fork_child(child_hold, a, 0, 1));
    cr_assert_leq(after, CT_SEC(1), "took %lld ns after the kill", (long long)after);
    cr_assert_eq(ct_shm_close(&r), CT_OK);
}

static int child_fork_owner(struct arena *a, int n, int threads)
{
    /* The forking thread's owner id is renewed in the child: the parent's
     * RLock is not ours, and ours is not the parent's. */
    (void)n, (void)threads;
    if (ct_rlock_is_owned(&a->rlock) || ct_rlock_count(&a->rlock) != 0)
        return 11;
    if (ct_rlock_release(&a->rlock) != CT_EPERM)
        return 12;
    if (ct_rlock_acquire_timed(&a->rlock, CT_MS(10)) != CT_ETIMEDOUT)
        return 13;
    return 0;
}

Test(shm, rlock_owner_ids_differ_between_parent_and_forked_child)
{
    ct_shm_t r;
    struct arena *a = arena_new(&r, 0);

    cr_assert_eq(ct_rlock_acquire(&a->rlock), CT_OK);
    reap_ok(fork_child(child_fork_owner, a, 0, 1), "fork owner");
    cr_assert_eq(ct_rlock_count(&a->rlock), 1);
    cr_assert_eq(ct_rlock_release(&a->rlock), CT_OK);
    cr_assert_eq(ct_shm_close(&r), CT_OK);
}

static void nop(void *arg) { (void)arg; }

Test(shm, per_process_objects_are_refused_inside_a_region)
{
    ct_shm_t r;
    unsigned char *p, zero[512];

    cr_assert_eq(ct_shm_create(&r, NULL, 4096), CT_OK);
    p = ct_shm_base(&r);
    memset(zero, 0, sizeof zero);
    cr_assert_eq(ct_queue_init((ct_queue_t *)p, CT_QUEUE_FIFO, 0, NULL), CT_EINVAL);
    cr_assert_eq(ct_gil_init((ct_gil_t *)p, CT_GIL_CLASSIC), CT_EINVAL);
    cr_assert_eq(ct_executor_init((ct_executor_t *)p, NULL), CT_EINVAL);
    cr_assert_eq(ct_local_init((ct_local_t *)p, NULL, NULL, NULL), CT_EINVAL);
    cr_assert_eq(ct_timer_start((ct_timer_t *)(p + 1024), CT_MS(1), nop, NULL), CT_EINVAL);
    cr_assert_eq(memcmp(p, zero, sizeof zero), 0, "a refused init wrote into the region");
    cr_assert_eq(ct_shm_close(&r), CT_OK);
}

/* ---- by name: a separate program ------------------------------------------------------ */

static struct arena *named_arena(ct_shm_t *r, char *name, size_t n, const char *what,
                                 unsigned parties)
{
    struct arena *a;

    region_name(name, n, what);
    (void)ct_shm_unlink(name);
    cr_assert_eq(ct_shm_create(r, name, sizeof *a), CT_OK);
    a = ct_shm_base(r);
    cr_assert_eq(ct_sem_init_bounded(&a->sem, ARENA_SEM_BOUND), CT_OK);
    if (parties > 0)
        cr_assert_eq(ct_barrier_init(&a->barrier, parties, NULL, NULL, CT_FOREVER), CT_OK);
    ct_cond_init(&a->cond, &a->cond_lock);
    return a;
}

Test(shm, every_primitive_with_programs_that_open_the_region_by_name)
{
    enum { PEERS = 2, THREADS = 2, ITERS = 2000, GENS = 20, ITEMS = 200 };
    char name[64];
    ct_shm_t r;
    struct arena *a = named_arena(&r, name, sizeof name, "peers", PEERS + 1);
    pid_t pid[PEERS];

    for (int i = 0; i < PEERS; i++)
        pid[i] = spawn_peer(name, "count", ITERS, THREADS);
    cr_assert_eq(role_count(a, THREADS, ITERS), 0);
    for (int i = 0; i < PEERS; i++)
        reap_ok(pid[i], "peer count");
    cr_assert_eq(a->counter, (uint64_t)(PEERS + 1) * THREADS * ITERS);
    cr_assert_eq(a->rcounter, (uint64_t)(PEERS + 1) * THREADS * ITERS);
    cr_assert_leq(atomic_load(&a->max_inside), ARENA_SEM_BOUND);

    for (int i = 0; i < PEERS; i++)
        pid[i] = spawn_peer(name, "barrier", GENS, 1);
    cr_assert_eq(role_barrier(a, GENS), 0);
    for (int i = 0; i < PEERS; i++)
        reap_ok(pid[i], "peer barrier");

    for (int i = 0; i < PEERS; i++)
        pid[i] = spawn_peer(name, "go", 0, 1);
    cr_assert(T_AWAIT(atomic_load(&a->go_waiting) == PEERS, CT_SEC(60)));
    ct_event_set(&a->go);
    ct_event_clear(&a->go);
    for (int i = 0; i < PEERS; i++)
        reap_ok(pid[i], "peer event");

    for (int i = 0; i < PEERS; i++)
        pid[i] = spawn_peer(name, "consume", ITEMS, 1);
    for (int i = 0; i < PEERS * ITEMS; i++) {
        ct_lock_acquire(&a->cond_lock);
        a->cond_items++;
        (void)ct_cond_notify(&a->cond, 1);
        (void)ct_lock_release(&a->cond_lock);
    }
    for (int i = 0; i < PEERS; i++)
        reap_ok(pid[i], "peer consume");
    cr_assert_eq(a->cond_items, 0);

    pid[0] = spawn_peer(name, "hold", 0, 1);
    cr_assert_leq(take_over_after_kill(a, pid[0]), CT_SEC(1));

    cr_assert_eq(atomic_load(&a->failures), 0);
    cr_assert_eq(ct_shm_unlink(name), CT_OK);
    cr_assert_eq(ct_shm_close(&r), CT_OK);
}

/* ---- torture: 4 processes x 4 threads ---------------------------------------------- */

Test(shm, torture_four_processes_of_four_threads)
{
    enum { PROCS = 4, THREADS = 4, ITERS = 4000 };
    ct_shm_t r;
    struct arena *a = arena_new(&r, 0);
    pid_t pid[PROCS];

    for (int i = 0; i < PROCS; i++)
        pid[i] = fork_child(child_count, a, ITERS, THREADS);
    for (int i = 0; i < PROCS; i++)
        reap_ok(pid[i], "torture");
    cr_assert_eq(a->counter, (uint64_t)PROCS * CHILD_THREADS(THREADS) * ITERS);
    cr_assert_eq(a->rcounter, (uint64_t)PROCS * CHILD_THREADS(THREADS) * ITERS);
    cr_assert_leq(atomic_load(&a->max_inside), ARENA_SEM_BOUND);
    cr_assert_eq(atomic_load(&a->failures), 0);
    cr_assert_eq(ct_shm_close(&r), CT_OK);
}

#else /* no cross-process waits in this build */

Test(shm, regions_are_refused_where_waits_cannot_cross_processes)
{
    ct_shm_t r, keep;

    memset(&r, 0x5a, sizeof r);
    keep = r;
    cr_assert_eq(ct_shm_create(&r, NULL, 4096), CT_ENOTSUP);
    cr_assert_eq(ct_shm_create(&r, "/ct_test_refused", 4096), CT_ENOTSUP);
    cr_assert_eq(ct_shm_open(&r, "/ct_test_refused"), CT_ENOTSUP);
    cr_assert_eq(ct_shm_unlink("/ct_test_refused"), CT_ENOTSUP);
    cr_assert_eq(memcmp(&r, &keep, sizeof r), 0);
    cr_assert(!ct_shm_contains(&r));
}

#endif
