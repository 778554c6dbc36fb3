/* Timer: threading.Timer as caller-owned nodes in one service heap.
 *
 * Structure (all guarded by svc.lock unless stated):
 *   - heap: a binary min-heap of pending struct ct__timer pointers ordered by
 *     (deadline, seq); each node stores its own index (heap_index), so cancel
 *     removes it in O(log n).  The array is the only allocation and grows by
 *     doubling (one pointer per pending timer).
 *   - the service thread: started on demand by ct_timer_start, sleeps on
 *     svc.service_wake until the earliest deadline, moves due timers to the
 *     ready queue, and exits after SERVICE_IDLE_NS with an empty heap.
 *   - the ready queue: a FIFO of due timers linked through struct ct__timer.next,
 *     drained by worker threads that sleep on svc.work_word.  The pool grows
 *     when a timer becomes due and no worker is idle (i.e. every worker is in
 *     a callback), and again whenever a due timer has waited GROW_DELAY_NS;
 *     a worker exits after WORKER_IDLE_NS without work.
 *   - exited service and worker threads put their record on svc.zombies; the
 *     next service thread (or the running one, each round) joins them.
 *
 * Timer state word (struct ct__timer.state; the values and bits are named
 * CT__TIMER_<name> in internal/timer.h), written under svc.lock only, read
 * without it by ct_timer_is_alive and by joiners sleeping on it:
 *   bits 0..3  phase:  IDLE 0       never started
 *                      PENDING 1    in the heap
 *                      QUEUED 2     due, in the ready queue (committed to run)
 *                      RAN 3        a worker took it: fn runs / has run
 *                      CANCELLED 4  cancelled before it became due
 *   bits 8..15 RUNNING: number of workers inside fn for this node (a callback
 *              may restart its own timer, which may then fire again while the
 *              first call still runs; at most MAX_WORKERS)
 *   bit 31     WAITERS: a ct_timer_join sleeps on the word
 * Transitions: start IDLE/RAN/CANCELLED -> PENDING; service PENDING -> QUEUED;
 * worker QUEUED -> RAN with RUNNING+1, then RUNNING-1 when fn returned;
 * cancel PENDING -> CANCELLED.  "Alive" = PENDING or QUEUED or RUNNING > 0.
 * Exactly one of "cancel returned true" / "fn ran" per start: both decisions
 * are taken under svc.lock on the phase (cancel wins only from PENDING; the
 * service commits by moving PENDING -> QUEUED).
 * No lost wake-up for joiners: a joiner sets WAITERS under the lock and then
 * sleeps while the word equals what it saw; every transition to "not alive"
 * happens under the lock, clears WAITERS and wakes all if it was set.  The
 * wake is issued before the lock is released, and the node is not touched
 * after that, so a joiner may free the node as soon as it sees "not alive".
 * The store that ends "alive" is a release and readers use acquire loads, so
 * fn's effects happen-before a join's CT_OK or an is_alive false.
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "cthreading/lock.h"
#include "cthreading/thread.h"
#include "cthreading/timer.h"
#include "internal/shm.h"
#include "internal/atomic.h"
#include "internal/fork.h"
#include "internal/once.h"
#include "internal/platform.h"
#include "internal/thread.h"
#include "internal/timer.h"
#include "platform/os.h"
#include "wait/wait.h"

/* The service thread exits after this long with no pending timer: long enough
 * that a program starting timers every second or so keeps one thread, short
 * enough that an idle program has no stray thread for long. */
#define SERVICE_IDLE_NS CT_SEC(3)
/* A worker exits after this long without a callback to run. */
#define WORKER_IDLE_NS CT_SEC(2)
/* A due timer that waited this long for a worker while none is idle gets a new
 * worker (the others are stuck in slow callbacks).  1 ms is a few futex
 * hand-offs on our test VM (~20 µs each) and half the p99 lateness goal. */
#define GROW_DELAY_NS CT_MS(1)
/* Upper bound of the worker pool (must stay below the RUNNING field's 255):
 * beyond it due timers wait for a worker to come free. */
#define MAX_WORKERS 128u
/* Initial heap capacity; the array doubles when full. */
#define HEAP_MIN_CAP 64u

struct pool_thread {
    ct_thread_t thread;
    struct pool_thread *next;        /* svc.workers or svc.zombies list */
    struct ct__timer *current;             /* the timer whose fn this worker runs */
};

static struct {
    ct_lock_t lock;
    struct ct__timer **heap;
    uint32_t size, cap;
    uint64_t next_seq;
    /* service thread */
    bool service_running;            /* a service thread exists (or is being started) */
    bool service_starting;           /* ct_timer_start creates it (lock dropped) */
    uint32_t start_word;             /* bumped (atomically) when a start attempt ends */
    bool service_sleeping;           /* it sleeps until service_deadline */
    int64_t service_deadline;
    uint32_t service_wake;           /* bumped (atomically) to wake it */
    /* worker pool */
    struct ct__timer *ready_head, *ready_tail;
    uint32_t ready_len;
    uint32_t work_word;              /* bumped (atomically) when work is queued */
    uint32_t n_workers;              /* started or being started */
    uint32_t idle_workers;           /* sleeping on work_word */
    struct pool_thread *workers;     /* live workers (for fork) */
    struct pool_thread *zombies;     /* exited threads, to be joined */
} svc;

/* reap_at_exit's registration: run under svc.lock (fork, see internal/once.h). */
static ct_once_t atexit_once = CT_ONCE_INIT;

/* The timer whose callback the calling worker runs (for CT_EDEADLK). */
static _Thread_local struct ct__timer *tl_current;
/* The calling thread's pool record if it is a worker (for fork). */
static _Thread_local struct pool_thread *tl_worker;


/* ---- state word ---------------------------------------------------------------- */

static inline bool alive_word(uint32_t s)
{
    uint32_t phase = s & CT__TIMER_PHASE_MASK;
    return phase == CT__TIMER_PENDING || phase == CT__TIMER_QUEUED ||
           (s & CT__TIMER_RUNNING_MASK) != 0;
}

/* Stores a new state (without WAITERS) under svc.lock; wakes joiners when the
 * timer stops being alive. */
static void store_state(struct ct__timer *t, uint32_t s)
{
    _Atomic uint32_t *w = CT__A32(&t->state);
    uint32_t old = ct__load_relaxed(w);

    if (alive_word(s)) {
        ct__store_release(w, s | (old & CT__TIMER_WAITERS));
    } else {
        ct__store_release(w, s);
        if (old & CT__TIMER_WAITERS)
            ct_wake_all(&t->state);
    }
}

static inline uint32_t state_of(const struct ct__timer *t)
{
    return ct__load_relaxed(CT__A32(&t->state)) & ~CT__TIMER_WAITERS;
}

/* ---- heap --------------------------------------------------------------------------- */

static inline bool before(const struct ct__timer *a, const struct ct__timer *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static inline void heap_place(uint32_t i, struct ct__timer *t)
{
    svc.heap[i] = t;
    t->heap_index = i;
}

static void sift_up(uint32_t i, struct ct__timer *t)
{
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!before(t, svc.heap[parent]))
            break;
        heap_place(i, svc.heap[parent]);
        i = parent;
    }
    heap_place(i, t);
}

static void sift_down(uint32_t i, struct ct__timer *t)
{
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= svc.size)
            break;
        if (c + 1 < svc.size && before(svc.heap[c + 1], svc.heap[c]))
            c++;
        if (!before(svc.heap[c], t))
            break;
        heap_place(i, svc.heap[c]);
        i = c;
    }
    heap_place(i, t);
}

static void heap_remove(struct ct__timer *t)
{
    uint32_t i = t->heap_index;
    struct ct__timer *last = svc.heap[--svc.size];

    assert(i <= svc.size && svc.heap[i] == t);
    if (last == t)
        return;
    if (i > 0 && before(last, svc.heap[(i - 1) / 2]))
        sift_up(i, last);
    else
        sift_down(i, last);
}

static int heap_reserve_one(void)
{
    uint32_t cap;
    struct ct__timer **grown;

    if (svc.size < svc.cap)
        return CT_OK;
    if (svc.cap > UINT32_MAX / 2)
        return CT_ENOMEM;
    cap = svc.cap ? svc.cap * 2 : HEAP_MIN_CAP;
    if ((grown = realloc(svc.heap, cap * sizeof *grown)) == NULL)
        return CT_ENOMEM;
    svc.heap = grown;
    svc.cap = cap;
    return CT_OK;
}

/* ---- threads of the service ------------------------------------------------------ */

static void service_main(void *arg);
static void worker_main(void *arg);

/* Joins and frees exited threads.  Called with svc.lock held; drops it while
 * joining (each join only waits for a thread's last instructions). */
static void reap_zombies_locked(void)
{
    while (svc.zombies != NULL) {
        struct pool_thread *z = svc.zombies;
        svc.zombies = NULL;
        ct_lock_release(&svc.lock);
        while (z != NULL) {
            struct pool_thread *next = z->next;
            (void)ct_thread_join(&z->thread, CT_FOREVER);
            free(z);
            z = next;
        }
        ct_lock_acquire(&svc.lock);
    }
}

/* Starts a worker; the caller already counted it in svc.n_workers.  Called
 * without the lock. */
static void spawn_worker(void)
{
    struct pool_thread *w = calloc(1, sizeof *w);

    if (w == NULL ||
        ct__thread_start_service(&w->thread, "ct-timer-worker", worker_main, w) != CT_OK) {
        free(w);
        ct_lock_acquire(&svc.lock);
        svc.n_workers--;     /* the service retries after GROW_DELAY_NS */
        ct_lock_release(&svc.lock);
    }
}

/* At process exit, join the service and worker threads that have already
 * exited: the last ones are otherwise never joined (each exited thread is
 * joined by the *next* service thread), which leaks their stacks until the
 * next timer and makes ThreadSanitizer report a thread leak at exit in every
 * program that used a timer and then idled.  Threads still running at exit
 * are left alone, as usual. */
static void reap_at_exit(void)
{
    ct_lock_acquire(&svc.lock);
    reap_zombies_locked();
    ct_lock_release(&svc.lock);
}

static int register_reap_at_exit(void *unused)
{
    (void)unused;
    (void)atexit(reap_at_exit);   /* failure only costs the reaping */
    return 0;
}

/* Makes sure a service thread exists.  Called with svc.lock held; drops it
 * while the thread is created (no thread is ever created under svc.lock:
 * creating one may block on locks that a concurrent fork() holds, e.g. a
 * sanitizer's thread registry, while the fork's prepare handler waits for
 * svc.lock).  Callers that find a start in progress wait for its outcome, so
 * no timer is queued for a service that then fails to start.  Returns CT_OK
 * (with the lock held and a service running), or CT_ENOMEM / CT_EAGAIN
 * (lock held, nothing changed). */
static int ensure_service_locked(void)
{
    while (!svc.service_running || svc.service_starting) {
        struct pool_thread *s;
        int rc;

        if (svc.service_starting) {
            uint32_t seen = ct__load_relaxed(CT__A32(&svc.start_word));
            ct_lock_release(&svc.lock);
            (void)ct__wait_until(&svc.start_word, seen, CT__NO_DEADLINE);
            ct_lock_acquire(&svc.lock);
            continue;
        }
        (void)ct__once(&atexit_once, register_reap_at_exit, NULL);
        if ((s = calloc(1, sizeof *s)) == NULL)
            return CT_ENOMEM;
        svc.service_running = true;
        svc.service_starting = true;
        ct_lock_release(&svc.lock);
        rc = ct__thread_start_service(&s->thread, "ct-timer", service_main, s);
        ct_lock_acquire(&svc.lock);
        svc.service_starting = false;
        atomic_fetch_add_explicit(CT__A32(&svc.start_word), 1, memory_order_relaxed);
        ct_wake_all(&svc.start_word);
        if (rc != CT_OK) {
            svc.service_running = false;
            free(s);
            return rc;
        }
    }
    return CT_OK;
}

/* Moves every due timer to the ready queue and decides how many idle workers
 * to wake and whether to start one more.  Returns the number to wake; sets
 * *spawn when a worker should be started (already counted). */
static uint32_t fire_due_locked(int64_t now, bool *spawn)
{
    uint32_t fired = 0, wake;

    while (svc.size > 0 && svc.heap[0]->deadline <= now) {
        struct ct__timer *t = svc.heap[0];
        heap_remove(t);
        store_state(t, CT__TIMER_QUEUED | (state_of(t) & CT__TIMER_RUNNING_MASK));
        t->next = NULL;
        if (svc.ready_tail != NULL)
            svc.ready_tail->next = t;
        else
            svc.ready_head = t;
        svc.ready_tail = t;
        svc.ready_len++;
        fired++;
    }
    *spawn = false;
    if (svc.ready_len == 0)
        return 0;
    if (fired > 0)
        atomic_fetch_add_explicit(CT__A32(&svc.work_word), 1, memory_order_release);
    wake = svc.ready_len < svc.idle_workers ? svc.ready_len : svc.idle_workers;
    /* Grow: new work and nobody idle, or the oldest due timer waited too long
     * while nobody was idle (all workers inside slow callbacks). */
    if (svc.idle_workers == 0 && svc.n_workers < MAX_WORKERS &&
        (fired > 0 || svc.n_workers == 0 || now - svc.ready_head->deadline >= GROW_DELAY_NS)) {
        svc.n_workers++;
        *spawn = true;
    }
    return wake;
}

static void service_main(void *arg)
{
    struct pool_thread *self = arg;
    int64_t empty_since = 0;

    ct_lock_acquire(&svc.lock);
    for (;;) {
        int64_t now, deadline;
        uint32_t seq, wake;
        bool spawn;

        reap_zombies_locked();
        now = ct__now_ns();
        wake = fire_due_locked(now, &spawn);
        if (svc.size > 0 || svc.ready_len > 0) {
            empty_since = 0;
        } else if (empty_since == 0) {
            empty_since = now;
        } else if (now - empty_since >= SERVICE_IDLE_NS && !svc.service_starting) {
            break;
        }
        if (svc.size > 0)
            deadline = svc.heap[0]->deadline;
        else if (svc.ready_len == 0)
            deadline = empty_since + SERVICE_IDLE_NS;
        else
            deadline = CT__NO_DEADLINE;
        if (svc.ready_len > 0 && deadline - now > GROW_DELAY_NS)
            deadline = now + GROW_DELAY_NS;    /* re-check for stuck workers */
        seq = ct__load_relaxed(CT__A32(&svc.service_wake));
        svc.service_sleeping = true;
        svc.service_deadline = deadline;
        ct_lock_release(&svc.lock);

        while (wake-- > 0)
            ct_wake_one(&svc.work_word);
        if (spawn)
            spawn_worker();
        (void)ct__wait_until(&svc.service_wake, seq, deadline);

        ct_lock_acquire(&svc.lock);
        svc.service_sleeping = false;
    }
    /* Idle: give the heap memory back and leave.  The next service thread
     * (started by the next ct_timer_start) joins this one. */
    free(svc.heap);
    svc.heap = NULL;
    svc.cap = 0;
    svc.service_running = false;
    self->next = svc.zombies;
    svc.zombies = self;
    ct_lock_release(&svc.lock);
}

static void worker_main(void *arg)
{
    struct pool_thread *self = arg;

    tl_worker = self;
    ct_lock_acquire(&svc.lock);
    self->next = svc.workers;
    svc.workers = self;
    for (;;) {
        struct ct__timer *t = svc.ready_head;
        if (t != NULL) {
            void (*fn)(void *) = t->fn;
            void *fn_arg = t->arg;
            bool more;

            svc.ready_head = t->next;
            if (svc.ready_head == NULL)
                svc.ready_tail = NULL;
            svc.ready_len--;
            t->next = NULL;
            store_state(t, CT__TIMER_RAN |
                               ((state_of(t) & CT__TIMER_RUNNING_MASK) + CT__TIMER_RUNNING_ONE));
            self->current = t;
            /* Others are due too and nobody else is idle: start a helper
             * before running a callback that may block. */
            more = svc.ready_len > 0 && svc.idle_workers == 0 && svc.n_workers < MAX_WORKERS;
            if (more)
                svc.n_workers++;
            ct_lock_release(&svc.lock);

            if (more)
                spawn_worker();
            tl_current = t;
            fn(fn_arg);
            tl_current = NULL;

            ct_lock_acquire(&svc.lock);
            self->current = NULL;
            store_state(t, state_of(t) - CT__TIMER_RUNNING_ONE);
            continue;
        }
        uint32_t seen = ct__load_relaxed(CT__A32(&svc.work_word));
        int rc;
        svc.idle_workers++;
        ct_lock_release(&svc.lock);
        rc = ct__wait_until(&svc.work_word, seen, ct__now_ns() + WORKER_IDLE_NS);
        ct_lock_acquire(&svc.lock);
        svc.idle_workers--;
        if (rc == CT_ETIMEDOUT && svc.ready_head == NULL)
            break;
    }
    for (struct pool_thread **p = &svc.workers; *p != NULL; p = &(*p)->next) {
        if (*p == self) {
            *p = self->next;
            break;
        }
    }
    svc.n_workers--;
    self->next = svc.zombies;
    svc.zombies = self;
    ct_lock_release(&svc.lock);
}

/* ---- fork ------------------------------------------------------------------------------ */

/* prepare (internal/fork.h, order 2): the forking thread takes svc.lock, so
 * the heap, the ready queue, the pool lists and every state word are whole
 * when the process is copied.  Callbacks run without svc.lock, so a worker
 * inside a callback may fork: its prepare takes the lock like anyone's. */
static void timer_fork_prepare(void) { ct_lock_acquire(&svc.lock); }
static void timer_fork_parent(void) { ct_lock_release(&svc.lock); }

/* The child has only the forking thread: no service thread, and no worker
 * except the forking thread itself if it is a worker inside a callback.
 * The parent's pending and queued timers read as cancelled here and never
 * fire; callbacks that other workers were running are not running here.
 * A forking worker keeps its pool record and its own RUNNING count: its
 * callback completes normally, the timer stops being alive when it returns,
 * and the worker then serves the child's pool (one worker counted).  Records
 * of vanished threads are dropped without a join (their threads do not
 * exist). */
static void timer_fork_child(void)
{
    struct pool_thread *p, *next, *me = tl_worker;

    for (p = svc.workers; p != NULL; p = p->next)
        if (p->current != NULL)
            ct__store_relaxed(CT__A32(&p->current->state),
                              ct__load_relaxed(CT__A32(&p->current->state)) & CT__TIMER_PHASE_MASK);
    for (uint32_t i = 0; i < svc.size; i++)
        ct__store_relaxed(CT__A32(&svc.heap[i]->state), CT__TIMER_CANCELLED);
    for (struct ct__timer *t = svc.ready_head; t != NULL; t = t->next)
        ct__store_relaxed(CT__A32(&t->state), CT__TIMER_CANCELLED);
    if (me != NULL && me->current != NULL)
        ct__store_relaxed(CT__A32(&me->current->state),
                          ct__load_relaxed(CT__A32(&me->current->state)) + CT__TIMER_RUNNING_ONE);
    for (p = svc.workers; p != NULL; p = next) {
        next = p->next;
        if (p != me)
            free(p);
    }
    for (p = svc.zombies; p != NULL; p = next) {
        next = p->next;
        free(p);
    }
    svc.size = 0;
    svc.ready_head = svc.ready_tail = NULL;
    svc.ready_len = 0;
    svc.service_running = false;
    svc.service_starting = false;    /* a starter that vanished */
    svc.service_sleeping = false;
    svc.idle_workers = 0;
    svc.zombies = NULL;
    if (me != NULL) {
        me->next = NULL;
        svc.workers = me;
        svc.n_workers = 1;
    } else {
        svc.workers = NULL;
        svc.n_workers = 0;
    }
    ct__fork_child_unlock(&svc.lock);
}

const struct ct__fork_hooks ct__timer_fork_hooks = {
    timer_fork_prepare, timer_fork_parent, timer_fork_child,
};

/* Before the first use of svc.lock (cheap after the first call). */
static inline void fork_ready(void) { ct__fork_ready(); }

/* ---- public API ------------------------------------------------------------------------- */

int ct_timer_start(ct_timer_t *timer, int64_t interval_ns, void (*fn)(void *), void *arg)
{
    struct ct__timer *t = ct__timer_of(timer);
    int64_t now, deadline;
    uint32_t phase;
    bool wake;
    int rc;

    assert(t != NULL && fn != NULL);
    if (interval_ns < 0)
        return CT_EINVAL;
    if (interval_ns > CT_TIMEOUT_MAX)
        return CT_EOVERFLOW;
    if (ct__shm_contains(timer))
        return CT_EINVAL;        /* per process: not inside a region (shm.h) */
    now = ct__now_ns();
    deadline = ct__deadline_from(now, interval_ns);
    if (deadline == CT__NO_DEADLINE)          /* a timer's deadline stays finite */
        deadline = CT__NO_DEADLINE - 1;

    fork_ready();
    ct_lock_acquire(&svc.lock);
    phase = state_of(t) & CT__TIMER_PHASE_MASK;
    if (phase == CT__TIMER_PENDING || phase == CT__TIMER_QUEUED) {
        ct_lock_release(&svc.lock);
        return CT_EPERM;
    }
    if ((rc = ensure_service_locked()) != CT_OK) {
        ct_lock_release(&svc.lock);
        return rc;
    }
    /* The lock was dropped: look at the timer again. */
    phase = state_of(t) & CT__TIMER_PHASE_MASK;
    if (phase == CT__TIMER_PENDING || phase == CT__TIMER_QUEUED) {
        ct_lock_release(&svc.lock);
        return CT_EPERM;
    }
    if ((rc = heap_reserve_one()) != CT_OK) {
        ct_lock_release(&svc.lock);
        return rc;
    }
    t->deadline = deadline;
    t->seq = svc.next_seq++;
    t->fn = fn;
    t->arg = arg;
    t->next = NULL;
    svc.size++;
    sift_up(svc.size - 1, t);
    store_state(t, CT__TIMER_PENDING | (state_of(t) & CT__TIMER_RUNNING_MASK));
    wake = t->heap_index == 0 && svc.service_sleeping && deadline < svc.service_deadline;
    if (wake) {
        svc.service_sleeping = false;      /* one wake is enough */
        atomic_fetch_add_explicit(CT__A32(&svc.service_wake), 1, memory_order_relaxed);
    }
    ct_lock_release(&svc.lock);
    if (wake)
        ct_wake_one(&svc.service_wake);
    return CT_OK;
}

bool ct_timer_cancel(ct_timer_t *timer)
{
    struct ct__timer *t = ct__timer_of(timer);
    uint32_t s, phase;
    bool cancelled;

    assert(t != NULL);
    fork_ready();
    ct_lock_acquire(&svc.lock);
    s = state_of(t);
    phase = s & CT__TIMER_PHASE_MASK;
    if (phase == CT__TIMER_PENDING) {
        heap_remove(t);
        store_state(t, CT__TIMER_CANCELLED | (s & CT__TIMER_RUNNING_MASK));
        cancelled = true;
    } else {
        cancelled = phase == CT__TIMER_IDLE || phase == CT__TIMER_CANCELLED;
    }
    ct_lock_release(&svc.lock);
    return cancelled;
}

int ct_timer_join(ct_timer_t *timer, int64_t timeout_ns)
{
    struct ct__timer *t = ct__timer_of(timer);
    int64_t deadline;
    int rc;

    assert(t != NULL);
    if ((rc = ct__deadline_after(timeout_ns, &deadline)) != CT_OK)
        return rc;
    fork_ready();
    for (;;) {
        uint32_t s;
        ct_lock_acquire(&svc.lock);
        s = ct__load_acquire(CT__A32(&t->state));
        if (!alive_word(s)) {
            ct_lock_release(&svc.lock);
            return CT_OK;
        }
        if (tl_current == t) {
            ct_lock_release(&svc.lock);
            return CT_EDEADLK;
        }
        if (!(s & CT__TIMER_WAITERS)) {
            s |= CT__TIMER_WAITERS;
            ct__store_relaxed(CT__A32(&t->state), s);
        }
        ct_lock_release(&svc.lock);
        if (ct__wait_until(&t->state, s, deadline) == CT_ETIMEDOUT)
            return alive_word(ct__load_acquire(CT__A32(&t->state))) ? CT_ETIMEDOUT : CT_OK;
    }
}

bool ct_timer_is_alive(const ct_timer_t *timer)
{
    const struct ct__timer *t = ct__timer_of(timer);
    assert(t != NULL);
    return alive_word(ct__load_acquire(CT__A32(&t->state)));
}
