/* Threads: handles, the registry of live threads, identity.
 *
 * Every thread the library knows has a `struct rec`: threads it started, the
 * main thread (a static record registered when the library is loaded) and
 * foreign threads that called ct_thread_current (registered lazily).  A
 * ct_thread_t is {record, ident}; idents are never reused and a record
 * carries its thread's ident while in use (0 in the pool), so a handle whose
 * record was recycled is recognised as such.  Record memory is never given
 * back to the system (type-stable): reading a stale handle's record is safe.
 *
 * One lock (reg.lock) protects the registry and every record's fields except
 * those named below.  It is held for a few hundred ns per thread lifetime
 * event (start, end, exit, join, detach, rename), never across a blocking
 * call, so unrelated threads do not serialise on it in any way that matters
 * next to the cost of creating a thread.  Lock order: a caller may hold a
 * module lock (the Timer's) and then take reg.lock, never the reverse.
 *
 * Record flags (under reg.lock):
 *   LIBRARY   started by ct_thread_start(_ex)
 *   HIDDEN    a library service thread: not counted, not listed
 *   DAEMON    not waited for by ct_threading_shutdown
 *   ACTIVE    in the active list (counted by ct_thread_active_count)
 *   COUNTED   counted in reg.nondaemon (LIBRARY, not DAEMON, not ENDED)
 *   ENDED     fn returned (library) / the thread exited (main, foreign)
 *   EXITED    the thread ran its last exit destructor (the library's key
 *             destructor re-arms itself until the OS's second-last round, so
 *             it runs after the other modules' destructors); it touches the
 *             record no more
 *   OS_READY  rec->os holds the OS handle (set by the creator after create)
 *   REAPED    the OS handle was joined or detached (set at registration for
 *             threads the library did not create: nothing to join)
 *   JOINER    one joiner is inside the OS join (others wait on rec->seq)
 *   HANDLE    the handle reference of a started thread is still held
 *   DETACHED  that reference was released by ct_thread_detach
 * A record returns to the pool when !HANDLE && EXITED && REAPED (the static
 * main record never does).
 *
 * Waiting: rec->seq is bumped (under reg.lock) at every change a joiner may
 * wait for and woken after the lock is dropped; a joiner reads it under the
 * lock and sleeps while it is unchanged, so no change is missed.
 * rec->native_word (0 unknown, 1 known, 2 unknown with sleepers) is
 * published by the thread itself without the lock.  reg.nondaemon is woken
 * when it reaches 0 while a thread waits in ct_threading_shutdown
 * (reg.shutdown_waiters counts them).
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cthreading/lock.h"
#include "cthreading/once.h"
#include "cthreading/thread.h"
#include "internal/atomic.h"
#include "internal/ident.h"
#include "internal/fork.h"
#include "internal/once.h"
#include "internal/platform.h"
#include "internal/thread.h"
#include "platform/os.h"
#include "wait/wait.h"

/* This file defines the exported calls that thread.h's inline twins stand
 * in for. */
#undef ct_thread_current
#undef ct_thread_ident

enum {
    R_LIBRARY  = 1u << 0,
    R_HIDDEN   = 1u << 1,
    R_DAEMON   = 1u << 2,
    R_ACTIVE   = 1u << 3,
    R_COUNTED  = 1u << 4,
    R_ENDED    = 1u << 5,
    R_EXITED   = 1u << 6,
    R_OS_READY = 1u << 7,
    R_REAPED   = 1u << 8,
    R_JOINER   = 1u << 9,
    R_HANDLE   = 1u << 10,
    R_DETACHED = 1u << 11,
};

struct rec {
    uint32_t seq;               /* atomic; bumped under reg.lock */
    uint32_t native_word;       /* atomic; see above */
    uint64_t native_id;         /* atomic; valid once native_word == 1 */
    uint32_t flags;
    uint64_t ident;             /* 0 while in the pool */
    char *name;                 /* heap, or main_name */
    ct__os_thread_t os;
    void (*fn)(void *);
    void *arg;
    struct rec *prev, *next;    /* active list; next = pool link */
    struct rec *all_next;       /* every record ever made (for fork) */
    unsigned seq_waiters;       /* joiners asleep on seq (never reset) */
    unsigned dtor_rounds;       /* the thread's own: key destructor re-arms */
    bool armed;                 /* the thread's own: its key slot holds rec */
};

static struct {
    ct_lock_t lock;
    struct rec *active;         /* doubly linked via prev/next */
    _Atomic unsigned n_active;
    uint32_t nondaemon;         /* atomic word; changed under lock */
    _Atomic uint32_t shutdown_waiters;  /* threads in ct_threading_shutdown */
    uint64_t counter;           /* the N of Thread-N / Dummy-N */
    struct rec *pool;
    struct rec *all;
    struct rec *main;
    ct__os_tls_t key;
} reg;

static char main_name[] = "MainThread";
static struct rec main_rec;
static ct_once_t init_once = CT_ONCE_INIT;

/* Identities come from one process-wide counter and are never reused; 0
 * means "not yet assigned" (and is never handed out). */
static _Atomic uint64_t next_ident = 1;
/* The caller's handle: record (NULL until it has one) and ident (0 until
 * assigned).  Exported where the format allows, for the inline twins in
 * thread.h; everything here reads it through my_rec / my_ident. */
#if CT__TLS_EXPORTED
/* Protected (CT__TLS_API in thread.h): the library's own accesses bind to
 * its own copy even where a process holds two copies of the library (a
 * static one in the executable and one in a plugin), each with its own
 * ident counter and registry; with default visibility the executable's
 * copy interposed the plugin's, and two threads could share an ident. */
CT__TLS_API __thread ct_thread_t ct_thread_self_ __attribute__((tls_model("initial-exec")));
#else
static _Thread_local ct_thread_t ct_thread_self_;
#endif
#define my_ident (ct_thread_self_.ident)
#define my_rec   (ct_thread_self_.rec)
static _Thread_local bool my_gone;      /* past the library's exit destructor */
static _Thread_local uint64_t my_native;

/* ---- ThreadSanitizer --------------------------------------------------------
 * The registry lock is the library's bookkeeping, not the user's
 * synchronisation: if TSan saw it, every thread that starts or ends would be
 * ordered after every thread that did so before, hiding real races between
 * them (pthread's own bookkeeping inside libc is invisible to TSan).  So
 * under TSan the registry's critical sections ignore synchronisation and
 * their memory accesses (the registry is only touched under the lock), and
 * the orderings the API promises are stated explicitly: everything a thread
 * did happens-before a ct_thread_join that returns CT_OK (pthread_join gives
 * that only to the joiner that reaps) and before a ct_threading_shutdown that
 * returns CT_OK. */
#if defined(CT__TSAN)
void AnnotateIgnoreSyncBegin(const char *file, int line);
void AnnotateIgnoreSyncEnd(const char *file, int line);
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define TSAN_HIDE_BEGIN() (AnnotateIgnoreSyncBegin(__FILE__, __LINE__), \
                           AnnotateIgnoreReadsBegin(__FILE__, __LINE__), \
                           AnnotateIgnoreWritesBegin(__FILE__, __LINE__))
#define TSAN_HIDE_END() (AnnotateIgnoreWritesEnd(__FILE__, __LINE__), \
                         AnnotateIgnoreReadsEnd(__FILE__, __LINE__), \
                         AnnotateIgnoreSyncEnd(__FILE__, __LINE__))
#define TSAN_RELEASE(a) __tsan_release((void *)(a))
#define TSAN_ACQUIRE(a) __tsan_acquire((void *)(a))
#else
#define TSAN_HIDE_BEGIN() ((void)0)
#define TSAN_HIDE_END() ((void)0)
#define TSAN_RELEASE(a) ((void)0)
#define TSAN_ACQUIRE(a) ((void)0)
#endif

static inline void reg_lock(void)
{
    TSAN_HIDE_BEGIN();
    ct_lock_acquire(&reg.lock);
}

static inline void reg_unlock(void)
{
    ct_lock_release(&reg.lock);
    TSAN_HIDE_END();
}

uint64_t ct_thread_ident(void)
{
    uint64_t id = my_ident;
    if (CT__UNLIKELY(id == 0))
        my_ident = id = atomic_fetch_add_explicit(&next_ident, 1, memory_order_relaxed);
    return id;
}

/* ---- registry helpers (all with reg.lock held) ------------------------------ */

static inline _Atomic uint32_t *seq_of(struct rec *r) { return CT__A32(&r->seq); }

/* Bumps r->seq; returns true if a joiner sleeps on it (the caller wakes it
 * after dropping the lock: no wake-up syscall when nobody waits). */
static bool bump_locked(struct rec *r)
{
    atomic_fetch_add_explicit(seq_of(r), 1, memory_order_relaxed);
    return r->seq_waiters != 0;
}

static void insert_active_locked(struct rec *r)
{
    r->prev = NULL;
    r->next = reg.active;
    if (reg.active != NULL)
        reg.active->prev = r;
    reg.active = r;
    r->flags |= R_ACTIVE;
    atomic_store_explicit(&reg.n_active, atomic_load_explicit(&reg.n_active,
                          memory_order_relaxed) + 1, memory_order_relaxed);
}

/* Marks r ended: leaves the active list and the non-daemon count.  Returns
 * true when the caller must wake ct_threading_shutdown's waiters. */
static bool end_locked(struct rec *r)
{
    bool wake = false;

    if (r->flags & R_ENDED)
        return false;
    r->flags |= R_ENDED;
    if (r->flags & R_ACTIVE) {
        if (r->prev != NULL)
            r->prev->next = r->next;
        else
            reg.active = r->next;
        if (r->next != NULL)
            r->next->prev = r->prev;
        r->prev = r->next = NULL;
        r->flags &= ~(uint32_t)R_ACTIVE;
        atomic_store_explicit(&reg.n_active, atomic_load_explicit(&reg.n_active,
                              memory_order_relaxed) - 1, memory_order_relaxed);
    }
    if (r->flags & R_COUNTED) {
        uint32_t n = ct__load_relaxed(CT__A32(&reg.nondaemon)) - 1;
        r->flags &= ~(uint32_t)R_COUNTED;
        /* Wake only if a ct_threading_shutdown waits: the store and the
         * load are seq_cst, as are the waiter's count and load of the word
         * (ct_threading_shutdown), so either it sees 0 or we see it
         * counted.  (The wake-all that every thread's exit made before
         * was the one system call start+join had beyond pthread's.) */
        atomic_store_explicit(CT__A32(&reg.nondaemon), n, memory_order_seq_cst);
        wake = n == 0 &&
               atomic_load_explicit(&reg.shutdown_waiters, memory_order_seq_cst) != 0;
    }
    return wake;
}

/* Returns r to the pool if nothing refers to it any more.  Returns true if
 * joiners sleep on r->seq (to be woken after the lock is dropped). */
static bool maybe_recycle_locked(struct rec *r)
{
    uint32_t f = r->flags;

    if (r == &main_rec || (f & R_HANDLE) || !(f & R_EXITED) || !(f & R_REAPED) ||
        (f & R_JOINER))
        return false;
    if (r->name != main_name)
        free(r->name);
    r->name = NULL;
    r->ident = 0;
    r->flags = 0;
    r->fn = NULL;
    r->arg = NULL;
    memset(&r->os, 0, sizeof r->os);
    ct__store_relaxed(CT__A64(&r->native_id), 0);
    if (atomic_exchange_explicit(CT__A32(&r->native_word), 0, memory_order_relaxed) == 2)
        ct_wake_all(&r->native_word);
    r->next = reg.pool;
    reg.pool = r;
    return bump_locked(r);
}

/* A record from the pool or a new one (NULL if out of memory). */
static struct rec *alloc_locked(void)
{
    struct rec *r = reg.pool;

    if (r != NULL) {
        reg.pool = r->next;
        r->next = NULL;
        return r;
    }
    if ((r = calloc(1, sizeof *r)) == NULL)
        return NULL;
    r->all_next = reg.all;
    reg.all = r;
    return r;
}

static char *default_name_locked(const char *prefix)
{
    char *s = malloc(32);
    if (s != NULL)
        snprintf(s, 32, "%s%llu", prefix, (unsigned long long)++reg.counter);
    return s;
}

static char *copy_name(const char *name)
{
    size_t n = strlen(name) + 1;
    char *s = malloc(n);
    if (s != NULL)
        memcpy(s, name, n);
    return s;
}

static bool handle_live_locked(const ct_thread_t *t, const struct rec *r)
{
    return r != NULL && t->ident != 0 && r->ident == t->ident;
}

/* ---- thread exit and fork ---------------------------------------------------- */

/* The thread's last act on its record (its last-round key destructor, or the
 * end of the trampoline when the key could not be set). */
static void thread_exit(struct rec *r)
{
    bool wake_shutdown, wake;

    TSAN_RELEASE(r);
    TSAN_RELEASE(&reg.nondaemon);
    reg_lock();
    wake_shutdown = end_locked(r);
    r->flags |= R_EXITED;
    wake = bump_locked(r);
    wake |= maybe_recycle_locked(r);
    reg_unlock();
    if (r != &main_rec) {
        my_rec = NULL;
        my_gone = true;
    }
    if (wake)
        ct_wake_all(&r->seq);
    if (wake_shutdown)
        ct_wake_all(&reg.nondaemon);
}

static void key_dtor(void *value)
{
    struct rec *r = value;

    if (!ct__os_tls_is_own(r, my_rec))
        return;                    /* stale, from a fork (platform/os.h) */
    /* Re-arm until the OS's second-last destructor round, so that the other
     * modules' exit destructors (ct_local_t values, the GIL's state), which
     * run in the first round, still see this thread's record and run before
     * a joiner is told the thread exited.  The last round is left alone:
     * sanitizer runtimes (TSan, ASan) re-arm their own key until then and
     * tear the thread's state down in it; no instrumented code may run after
     * that. */
    unsigned rounds = ct__os_tls_dtor_rounds();
    unsigned last = rounds > 1 ? rounds - 1 : 1;
    if (r->dtor_rounds + 1 < last) {
        r->dtor_rounds++;
        if (ct__os_tls_set(&reg.key, r) == CT_OK)
            return;
    }
    thread_exit(r);
}

static void fork_prepare(void) { ct_lock_acquire(&reg.lock); }
static void fork_parent(void) { ct_lock_release(&reg.lock); }

/* In the child only the forking thread exists: every other record ends and
 * exits (nothing to join), and the forking thread becomes the main thread,
 * as in CPython. */
static void fork_child(void)
{
    struct rec *me = my_rec;

    for (struct rec *r = reg.all; r != NULL; r = r->all_next) {
        if (r->ident == 0 || r == me)
            continue;
        (void)end_locked(r);
        r->flags |= R_EXITED | R_REAPED;
        r->flags &= ~(uint32_t)R_JOINER;
        r->seq_waiters = 0;
        (void)bump_locked(r);
        (void)maybe_recycle_locked(r);
    }
    my_native = 0;
    if (me != NULL) {
        ct__store_relaxed(CT__A64(&me->native_id), ct__os_native_id_self());
        ct__store_relaxed(CT__A32(&me->native_word), 1);
    }
    reg.main = me;
    atomic_store_explicit(&reg.shutdown_waiters, 0, memory_order_relaxed);  /* they vanished */
    ct__fork_child_unlock(&reg.lock);   /* vanished threads' sleeper bits go */
}

const struct ct__fork_hooks ct__thread_fork_hooks = { fork_prepare, fork_parent, fork_child };

/* Creates the key, registers the fork handlers and the calling thread as the
 * main thread.  Runs once (at load time where the compiler has a constructor
 * hook, else on the first call that needs it). */
static int init_fn(void *unused)
{
    int rc;

    (void)unused;
    if ((rc = ct__os_tls_create(&reg.key, key_dtor)) != CT_OK)
        return rc;
    ct__fork_ready();   /* the registry's hooks are one of src/fork.c's services */
    reg_lock();
    main_rec.ident = ct_thread_ident();
    main_rec.name = main_name;
    main_rec.flags = R_REAPED;
    ct__os_thread_self(&main_rec.os);
    main_rec.flags |= R_OS_READY;
    my_native = ct__os_native_id_self();
    ct__store_relaxed(CT__A64(&main_rec.native_id), my_native);
    ct__store_relaxed(CT__A32(&main_rec.native_word), 1);
    main_rec.all_next = reg.all;
    reg.all = &main_rec;
    insert_active_locked(&main_rec);
    reg.main = &main_rec;
    reg_unlock();
    /* The main record's slot is not armed: the main thread counts as alive
     * until the process ends.  (An exit destructor for it would run during
     * process exit on Windows, after the other threads were terminated —
     * possibly inside reg.lock.) */
    my_rec = &main_rec;
    return CT_OK;
}

static int ensure_init(void)
{
    return ct__once(&init_once, init_fn, NULL);
}

#if CT__HAVE_CONSTRUCTOR
static CT__CONSTRUCTOR void thread_module_load(void)
{
    (void)ensure_init();
}
#endif

/* ---- start ------------------------------------------------------------------- */

void ct__thread_main(void *p)
{
    struct rec *r = p;
    uint64_t native = ct__os_native_id_self();
    bool wake_shutdown, wake;
    char os_name[256];

    my_ident = r->ident;
    my_rec = r;
    my_native = native;
    ct__store_relaxed(CT__A64(&r->native_id), native);
    if (atomic_exchange_explicit(CT__A32(&r->native_word), 1, memory_order_release) == 2)
        ct_wake_all(&r->native_word);
    r->armed = ct__os_tls_set(&reg.key, r) == CT_OK;
    reg_lock();
    snprintf(os_name, sizeof os_name, "%s", r->name);
    reg_unlock();
    ct__os_thread_set_name(&r->os, true, native, os_name);

    r->fn(r->arg);

    TSAN_RELEASE(&reg.nondaemon);
    reg_lock();
    wake_shutdown = end_locked(r);
    wake = bump_locked(r);
    reg_unlock();
    if (wake)
        ct_wake_all(&r->seq);
    if (wake_shutdown)
        ct_wake_all(&reg.nondaemon);
    if (!r->armed)
        thread_exit(r);
}

static int start_common(ct_thread_t *t, const char *name, uint32_t flags, size_t stack,
                        void (*fn)(void *), void *arg)
{
    char *copy = NULL;
    struct rec *r;
    ct__os_thread_t os;
    uint64_t id;
    bool wake;
    int rc;

    if (name != NULL && (copy = copy_name(name)) == NULL)
        return CT_ENOMEM;
    id = atomic_fetch_add_explicit(&next_ident, 1, memory_order_relaxed);
    reg_lock();
    if ((r = alloc_locked()) == NULL ||
        (copy == NULL && (copy = default_name_locked("Thread-")) == NULL)) {
        if (r != NULL) {
            r->next = reg.pool;
            reg.pool = r;
        }
        reg_unlock();
        free(copy);
        return CT_ENOMEM;
    }
    r->ident = id;
    r->name = copy;
    r->flags = R_LIBRARY | R_HANDLE | flags;
    r->fn = fn;
    r->arg = arg;
    r->dtor_rounds = 0;
    r->armed = false;
    if (!(flags & R_HIDDEN)) {
        insert_active_locked(r);
        if (!(flags & R_DAEMON)) {
            r->flags |= R_COUNTED;
            ct__store_relaxed(CT__A32(&reg.nondaemon),
                              ct__load_relaxed(CT__A32(&reg.nondaemon)) + 1);
        }
    }
    reg_unlock();
    /* A recycled record: what its previous thread did to it outside the
     * lock happens-before this reuse (see thread_exit). */
    TSAN_ACQUIRE(r);

    rc = ct__os_thread_create(&os, stack, r);

    reg_lock();
    if (rc != CT_OK) {
        bool wake_shutdown = end_locked(r);
        r->flags |= R_EXITED | R_REAPED;
        r->flags &= ~(uint32_t)R_HANDLE;
        wake = maybe_recycle_locked(r);
        reg_unlock();
        if (wake)
            ct_wake_all(&r->seq);
        if (wake_shutdown)
            ct_wake_all(&reg.nondaemon);
        return rc;
    }
    r->os = os;
    r->flags |= R_OS_READY;
    if ((r->flags & R_DETACHED) && !(r->flags & R_REAPED)) {
        /* ct_thread_detach came (through ct_thread_enumerate or the thread's
         * own ct_thread_current) before the handle was known. */
        ct__os_thread_detach(&r->os);
        r->flags |= R_REAPED;
    }
    wake = bump_locked(r);
    wake |= maybe_recycle_locked(r);
    reg_unlock();
    if (wake)
        ct_wake_all(&r->seq);
    t->rec = r;
    t->ident = id;
    return CT_OK;
}

int ct_thread_start_ex(ct_thread_t *t, const ct_thread_options_t *opts,
                       void (*fn)(void *), void *arg)
{
    size_t stack = 0;
    int rc;

    assert(t != NULL && fn != NULL);
    if (opts != NULL && opts->stack_size != 0 &&
        (rc = ct__os_stack_size(opts->stack_size, &stack)) != CT_OK)
        return rc;
    if ((rc = ensure_init()) != CT_OK)
        return rc;
    return start_common(t, opts != NULL ? opts->name : NULL,
                        opts != NULL && opts->daemon ? R_DAEMON : 0, stack, fn, arg);
}

int ct_thread_start(ct_thread_t *t, void (*fn)(void *), void *arg)
{
    return ct_thread_start_ex(t, NULL, fn, arg);
}

int ct__thread_start_service(ct_thread_t *t, const char *name, void (*fn)(void *), void *arg)
{
    int rc;

    assert(t != NULL && fn != NULL && name != NULL);
    if ((rc = ensure_init()) != CT_OK)
        return rc;
    return start_common(t, name, R_HIDDEN | R_DAEMON, 0, fn, arg);
}

/* ---- join, detach ------------------------------------------------------------ */

int ct_thread_join(const ct_thread_t *t, int64_t timeout_ns)
{
    struct rec *r;
    int64_t deadline;
    bool timed_out = false, wake = false;
    int rc;

    assert(t != NULL);
    if ((rc = ct__deadline_after(timeout_ns, &deadline)) != CT_OK)
        return rc;
    r = t->rec;
    if (r == NULL || t->ident == 0)
        return CT_EINVAL;
    if (t->ident == ct_thread_ident())
        return CT_EDEADLK;
    reg_lock();
    for (;;) {
        uint32_t f = r->flags, s;

        if (r->ident != t->ident)
            break;                          /* released: it exited long ago */
        if ((f & R_EXITED) && (f & R_REAPED)) {
            r->flags &= ~(uint32_t)R_HANDLE;       /* the first CT_OK releases */
            wake |= maybe_recycle_locked(r);
            break;
        }
        /* Become the one joiner in the OS join: once the thread ran its last
         * exit destructor, or at once for a join without a timeout (one
         * hand-off instead of two: pthread_join then waits for everything). */
        if ((f & R_LIBRARY) && (f & R_OS_READY) && !(f & (R_JOINER | R_REAPED)) &&
            ((f & R_EXITED) || deadline == CT__NO_DEADLINE)) {
            r->flags |= R_JOINER;
            reg_unlock();
            rc = ct__os_thread_join_until(&r->os, deadline);
            reg_lock();
            r->flags &= ~(uint32_t)R_JOINER;
            if (rc == CT_OK) {
                r->flags |= R_REAPED | R_EXITED;
            } else if (r->flags & R_DETACHED) {
                ct__os_thread_detach(&r->os);   /* detach came meanwhile */
                r->flags |= R_REAPED;
            }
            wake |= bump_locked(r);
            if (!(r->flags & R_REAPED)) {
                rc = CT_ETIMEDOUT;
                goto out;
            }
            continue;
        }
        if (timed_out) {
            rc = CT_ETIMEDOUT;
            goto out;
        }
        s = atomic_load_explicit(seq_of(r), memory_order_relaxed);
        r->seq_waiters++;
        reg_unlock();
        if (wake) {
            ct_wake_all(&r->seq);
            wake = false;
        }
        if (ct__wait_until(&r->seq, s, deadline) == CT_ETIMEDOUT)
            timed_out = true;
        reg_lock();
        r->seq_waiters--;
    }
    rc = CT_OK;
out:
    reg_unlock();
    if (wake)
        ct_wake_all(&r->seq);
    if (rc == CT_OK)
        TSAN_ACQUIRE(r);
    return rc;
}

int ct_thread_detach(const ct_thread_t *t)
{
    struct rec *r;
    bool wake = false;
    int rc = CT_OK;

    assert(t != NULL);
    r = t->rec;
    if (r == NULL || t->ident == 0)
        return CT_EINVAL;
    reg_lock();
    if (r->ident == t->ident) {
        if (!(r->flags & R_LIBRARY)) {
            rc = CT_EINVAL;
        } else if (r->flags & R_HANDLE) {
            r->flags &= ~(uint32_t)R_HANDLE;
            r->flags |= R_DETACHED;
            if ((r->flags & R_OS_READY) && !(r->flags & (R_REAPED | R_JOINER))) {
                ct__os_thread_detach(&r->os);
                r->flags |= R_REAPED;
            }
            wake = bump_locked(r);
            wake |= maybe_recycle_locked(r);
        }
    }
    reg_unlock();
    if (wake)
        ct_wake_all(&r->seq);
    return rc;
}

/* ---- current, main, queries -------------------------------------------------- */

static CT__NOINLINE int current_slow(ct_thread_t *out)
{
    static const ct_thread_t none = CT_THREAD_INIT;
    struct rec *r;
    uint64_t id;
    int rc;

    *out = none;
    if (my_gone)
        return CT_EINVAL;
    if ((rc = ensure_init()) != CT_OK)
        return rc;
    if ((r = my_rec) == NULL) {
        id = ct_thread_ident();
        reg_lock();
        if ((r = alloc_locked()) == NULL || (r->name = default_name_locked("Dummy-")) == NULL) {
            if (r != NULL) {
                r->next = reg.pool;
                reg.pool = r;
            }
            reg_unlock();
            return CT_ENOMEM;
        }
        r->ident = id;
        r->flags = R_REAPED | R_OS_READY;  /* nothing to join; os names it */
        ct__os_thread_self(&r->os);
        if (my_native == 0)
            my_native = ct__os_native_id_self();
        ct__store_relaxed(CT__A64(&r->native_id), my_native);
        ct__store_relaxed(CT__A32(&r->native_word), 1);
        r->dtor_rounds = 0;
        insert_active_locked(r);
        reg_unlock();
        TSAN_ACQUIRE(r);
        if (ct__os_tls_set(&reg.key, r) != CT_OK) {
            reg_lock();
            (void)end_locked(r);
            r->flags |= R_EXITED;
            (void)maybe_recycle_locked(r);
            reg_unlock();
            return CT_ENOMEM;
        }
        r->armed = true;
        my_rec = r;
    }
    out->rec = r;
    out->ident = my_ident;
    return CT_OK;
}

int ct_thread_current(ct_thread_t *out)
{
    struct rec *r = my_rec;

    assert(out != NULL);
    if (CT__LIKELY(r != NULL)) {
        out->rec = r;
        out->ident = my_ident;
        return CT_OK;
    }
    return current_slow(out);
}

void ct_thread_main(ct_thread_t *out)
{
    static const ct_thread_t none = CT_THREAD_INIT;
    ct_thread_t me;

    assert(out != NULL);
    *out = none;
    if (ensure_init() != CT_OK)
        return;
    reg_lock();
    if (reg.main == NULL) {
        /* A fork child whose forking thread had no record: it is the main
         * thread now. */
        reg_unlock();
        if (ct_thread_current(&me) != CT_OK)
            return;
        reg_lock();
        if (reg.main == NULL && handle_live_locked(&me, me.rec))
            reg.main = me.rec;
    }
    if (reg.main != NULL) {
        out->rec = reg.main;
        out->ident = reg.main->ident;
    }
    reg_unlock();
}

const char *ct_thread_name(const ct_thread_t *t)
{
    struct rec *r;
    const char *name = "";

    assert(t != NULL);
    if ((r = t->rec) == NULL)
        return name;
    reg_lock();
    if (handle_live_locked(t, r) && r->name != NULL)
        name = r->name;
    reg_unlock();
    return name;
}

int ct_thread_set_name(const ct_thread_t *t, const char *name)
{
    struct rec *r;
    char *copy, *old;

    assert(t != NULL);
    if (name == NULL || (r = t->rec) == NULL || t->ident == 0)
        return CT_EINVAL;
    if ((copy = copy_name(name)) == NULL)
        return CT_ENOMEM;
    reg_lock();
    if (!handle_live_locked(t, r)) {
        reg_unlock();
        free(copy);
        return CT_EINVAL;
    }
    old = r->name;
    r->name = copy;
    /* The OS handle is valid while the thread has not passed its exit
     * destructor (which needs reg.lock), and a library thread's until it is
     * reaped; a thread that has not named itself yet will use the new name. */
    if (r == my_rec)
        ct__os_thread_set_name(&r->os, true, 0, copy);
    else if ((r->flags & R_OS_READY) && !(r->flags & R_EXITED))
        ct__os_thread_set_name(&r->os, false,
                               ct__load_relaxed(CT__A64(&r->native_id)), copy);
    reg_unlock();
    if (old != main_name)
        free(old);
    return CT_OK;
}

uint64_t ct_thread_ident_of(const ct_thread_t *t)
{
    assert(t != NULL);
    return t->rec != NULL ? t->ident : 0;
}

uint64_t ct_thread_native_id(const ct_thread_t *t)
{
    struct rec *r;

    assert(t != NULL);
    if ((r = t->rec) == NULL || t->ident == 0)
        return 0;
    for (;;) {
        uint32_t zero = 0;
        uint64_t id;

        reg_lock();
        if (!handle_live_locked(t, r)) {
            reg_unlock();
            return 0;
        }
        if (atomic_load_explicit(CT__A32(&r->native_word), memory_order_acquire) == 1) {
            id = ct__load_relaxed(CT__A64(&r->native_id));
            reg_unlock();
            return id;
        }
        /* Just started: it publishes its id before anything else. */
        (void)atomic_compare_exchange_strong_explicit(CT__A32(&r->native_word), &zero, 2,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed);
        reg_unlock();
        (void)ct__wait_until(&r->native_word, 2, CT__NO_DEADLINE);
    }
}

uint64_t ct_thread_native_id_self(void)
{
    uint64_t id = my_native;
    if (CT__UNLIKELY(id == 0))
        my_native = id = ct__os_native_id_self();
    return id;
}

bool ct_thread_is_alive(const ct_thread_t *t)
{
    struct rec *r;
    bool alive;

    assert(t != NULL);
    if ((r = t->rec) == NULL)
        return false;
    reg_lock();
    alive = handle_live_locked(t, r) && !(r->flags & R_ENDED);
    reg_unlock();
    return alive;
}

bool ct_thread_is_daemon(const ct_thread_t *t)
{
    struct rec *r;
    bool daemon;

    assert(t != NULL);
    if ((r = t->rec) == NULL)
        return false;
    reg_lock();
    daemon = handle_live_locked(t, r) && (r->flags & R_DAEMON);
    reg_unlock();
    return daemon;
}

unsigned ct_thread_active_count(void)
{
    if (ensure_init() != CT_OK)
        return 0;
    return atomic_load_explicit(&reg.n_active, memory_order_relaxed);
}

int ct_thread_enumerate(void (*fn)(const ct_thread_t *, void *), void *arg)
{
    ct_thread_t *snap;
    unsigned n, i = 0;

    assert(fn != NULL);
    if (ensure_init() != CT_OK)
        return 0;
    reg_lock();
    n = atomic_load_explicit(&reg.n_active, memory_order_relaxed);
    if ((snap = malloc((n ? n : 1) * sizeof *snap)) == NULL) {
        reg_unlock();
        return CT_ENOMEM;
    }
    for (struct rec *r = reg.active; r != NULL; r = r->next, i++) {
        snap[i].rec = r;
        snap[i].ident = r->ident;
    }
    reg_unlock();
    assert(i == n);
    for (i = 0; i < n; i++)
        fn(&snap[i], arg);
    free(snap);
    return (int)n;
}

int ct_threading_shutdown(int64_t timeout_ns)
{
    _Atomic uint32_t *w = CT__A32(&reg.nondaemon);
    struct rec *me = my_rec;
    int64_t deadline;
    int rc;

    if ((rc = ct__deadline_after(timeout_ns, &deadline)) != CT_OK)
        return rc;
    if (me != NULL) {
        bool waits_for_itself;
        reg_lock();
        waits_for_itself = (me->flags & R_COUNTED) != 0;
        reg_unlock();
        if (waits_for_itself)
            return CT_EDEADLK;
    }
    atomic_fetch_add_explicit(&reg.shutdown_waiters, 1, memory_order_seq_cst);
    for (;;) {
        uint32_t n = atomic_load_explicit(w, memory_order_seq_cst);
        if (n == 0) {
            TSAN_ACQUIRE(&reg.nondaemon);
            rc = CT_OK;
            break;
        }
        if (ct__wait_until(&reg.nondaemon, n, deadline) == CT_ETIMEDOUT &&
            atomic_load_explicit(w, memory_order_acquire) != 0) {
            rc = CT_ETIMEDOUT;
            break;
        }
    }
    atomic_fetch_sub_explicit(&reg.shutdown_waiters, 1, memory_order_relaxed);
    return rc;
}
