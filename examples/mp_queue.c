/* mp_queue: the Python tour's multiprocessing Queue and Value program, in C.
 *
 * The Python original:
 *
 *     from multiprocessing import Process, Queue, Value
 *
 *     def producer(q, n):
 *         for i in range(n):
 *             q.put((i, i * i, f"item {i}"))
 *         q.put(None)                       # the sentinel: no more items
 *
 *     def consumer(q, total):
 *         while (item := q.get()) is not None:
 *             with total.get_lock():        # Value('q', 0) has its own lock
 *                 total.value += item[1]
 *
 *     q, total = Queue(maxsize=16), Value('q', 0)
 *     ps = [Process(target=producer, args=(q, 1000)),
 *           Process(target=consumer, args=(q, total))]
 *     for p in ps: p.start()
 *     for p in ps: p.join()
 *     print(total.value)
 *
 * In C the shared objects live in one anonymous region of shared memory
 * (ct_shm_t) created before fork(), laid out as a struct: the "Value" is an
 * int64_t guarded by a ct_lock_t next to it, and the Queue is a
 * ct_shm_queue_t whose items (a struct, copied in and out: no pointers
 * cross processes) follow the struct in the region.  The producer and the
 * consumer are forked children; the parent joins them (waitpid) and checks
 * the result: it exits non-zero if any item was lost, duplicated or
 * corrupted, or if any call failed.  Where the platform has no cross-process
 * waits (ct_shm_create returns CT_ENOTSUP: the parking backend) it says so
 * and exits 0.  POSIX only (fork).
 *
 * Built on: ct_shm_t, ct_shm_queue_t, ct_lock_t.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cthreading.h>

enum { ITEMS = 1000, CAPACITY = 16 };

/* One item of the queue: Python's (i, i * i, f"item {i}"); seq -1 is None. */
struct item {
    int64_t seq;
    int64_t square;
    char text[24];
};

/* The region's layout: the Value and its lock, then the queue's block. */
struct shared {
    ct_lock_t total_lock;     /* Value.get_lock() */
    int64_t total;            /* Value('q', 0).value */
    int64_t consumed;         /* items the consumer got (checked by the parent) */
    _Alignas(64) unsigned char queue[];   /* ct_shm_queue_bytes(CAPACITY, sizeof(struct item)) */
};

static ct_shm_queue_t *queue_of(struct shared *s) { return (ct_shm_queue_t *)s->queue; }

static int producer(struct shared *s, int n)
{
    struct item it;
    int rc;

    for (int i = 0; i <= n; i++) {
        memset(&it, 0, sizeof it);
        it.seq = i < n ? i : -1;
        it.square = (int64_t)i * i;
        (void)snprintf(it.text, sizeof it.text, "item %d", i);
        if ((rc = ct_shm_queue_put(queue_of(s), &it, CT_FOREVER)) != CT_OK) {
            fprintf(stderr, "producer: put: %s\n", ct_strerror(rc));
            return 1;
        }
    }
    printf("producer (pid %ld): put %d items and the sentinel\n", (long)getpid(), n);
    return 0;
}

static int consumer(struct shared *s)
{
    struct item it;
    char want[sizeof it.text];
    int64_t next = 0;
    int rc;

    for (;;) {
        if ((rc = ct_shm_queue_get(queue_of(s), &it, CT_FOREVER)) != CT_OK) {
            fprintf(stderr, "consumer: get: %s\n", ct_strerror(rc));
            return 1;
        }
        if (it.seq == -1)
            break;
        (void)snprintf(want, sizeof want, "item %lld", (long long)next);
        if (it.seq != next || it.square != next * next || strcmp(it.text, want) != 0) {
            fprintf(stderr, "consumer: expected %s, got seq %lld (\"%.23s\"): lost, "
                    "duplicated or corrupted\n", want, (long long)it.seq, it.text);
            return 1;
        }
        next++;
        ct_lock_acquire(&s->total_lock);           /* with total.get_lock(): */
        s->total += it.square;
        s->consumed++;
        if ((rc = ct_lock_release(&s->total_lock)) != CT_OK) {
            fprintf(stderr, "consumer: release: %s\n", ct_strerror(rc));
            return 1;
        }
    }
    printf("consumer (pid %ld): got %lld items\n", (long)getpid(), (long long)next);
    return 0;
}

/* Forks a child that runs role(s, n) and exits with its result. */
static pid_t start(int (*role)(struct shared *, int), struct shared *s, int n)
{
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        int rc = role(s, n);
        fflush(stdout);
        _exit(rc);
    }
    return pid;
}

static int run_producer(struct shared *s, int n) { return producer(s, n); }
static int run_consumer(struct shared *s, int n) { (void)n; return consumer(s); }

/* Joins a child: true if it exited with status 0. */
static bool join(pid_t pid, const char *what)
{
    int status;

    if (waitpid(pid, &status, 0) != pid) {
        perror("waitpid");
        return false;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "%s failed (status %d)\n", what, status);
        return false;
    }
    return true;
}

int main(void)
{
    size_t qbytes = ct_shm_queue_bytes(CAPACITY, sizeof(struct item));
    size_t bytes = sizeof(struct shared) + qbytes;
    ct_shm_t region;
    struct shared *s;
    pid_t prod, cons;
    int64_t want = 0;
    bool ok = true;
    int rc;

    rc = ct_shm_create(&region, NULL, bytes);
    if (rc == CT_ENOTSUP) {
        printf("no cross-process waits on this platform (ct_shm_create: %s): nothing to do\n",
               ct_strerror(rc));
        return 0;
    }
    if (rc != CT_OK) {
        fprintf(stderr, "ct_shm_create: %s\n", ct_strerror(rc));
        return 1;
    }
    s = ct_shm_base(&region);   /* zero-filled: the Lock is ready, total is 0 */
    if ((rc = ct_shm_queue_init(queue_of(s), qbytes, CAPACITY, sizeof(struct item))) != CT_OK) {
        fprintf(stderr, "ct_shm_queue_init: %s\n", ct_strerror(rc));
        return 1;
    }

    cons = start(run_consumer, s, 0);
    prod = start(run_producer, s, ITEMS);
    if (cons < 0 || prod < 0) {
        perror("fork");
        return 1;
    }
    ok = join(prod, "producer") & ok;
    ok = join(cons, "consumer") & ok;

    for (int64_t i = 0; i < ITEMS; i++)
        want += i * i;
    printf("Value: total = %lld (expected %lld), items consumed = %lld of %d, left in queue = %zu\n",
           (long long)s->total, (long long)want, (long long)s->consumed, ITEMS,
           ct_shm_queue_qsize(queue_of(s)));
    if (s->total != want || s->consumed != ITEMS || !ct_shm_queue_empty(queue_of(s)))
        ok = false;
    if ((rc = ct_shm_close(&region)) != CT_OK) {
        fprintf(stderr, "ct_shm_close: %s\n", ct_strerror(rc));
        ok = false;
    }
    printf("%s\n", ok ? "ok: every item delivered once, intact, in order" : "FAILED");
    return ok ? 0 : 1;
}
