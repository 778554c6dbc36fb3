/* Local: threading.local with unlimited keys and exactly-once destructors.
 *
 * Layout
 *   - A key is a small integer id.  Ids come from a free list (recycled only
 *     after ct_local_destroy has removed the key's value from every thread and
 *     every destructor of the key has returned, so a recycled id starts out
 *     empty everywhere).  Per-id bookkeeping (struct key_info) lives in chunks
 *     of KEY_CHUNK ids that never move, so its address is stable.
 *   - Each thread that uses any key owns a table (struct local_thread) with one
 *     value pointer per id, grown to the largest id it used.  The table is
 *     registered in one OS thread-local slot (whose destructor runs at thread
 *     exit, also for foreign threads) and linked in a global list, so
 *     ct_local_foreach and ct_local_destroy can reach every thread's values.
 *   - The calling thread also caches its value array and its capacity in two
 *     _Thread_local variables: ct_local_get is a bounds check and two loads.
 *
 * Table entries: NULL = no value yet (ctor runs on the next get); PRESENT_NULL
 * = the thread's value is NULL (ctor must not run again); anything else = the
 * value.
 *
 * Locking: reg_lock guards the key registry, the thread list, and every write
 * of a table entry or table pointer (the owner writes its own entries under
 * the lock, because foreach and destroy read and clear them from other
 * threads).  The owner reads its own entries without the lock: the only other
 * writer of an entry is ct_local_destroy of that key, which may not run
 * concurrently with a get of the same key.
 *
 * Exactly-once destructors: a value is destroyed by whoever removes it from
 * its table under reg_lock — the exiting thread (which steals its whole array)
 * or ct_local_destroy (which clears one entry at a time).  Destructors run
 * outside the lock.  The exiting thread counts the values it stole in each
 * key's `pending` word before unlocking; ct_local_destroy waits for that count
 * to drain, so it returns only after every destructor of its key finished.
 *
 * pending word (key_info.pending):
 *   bits 0..30  destructors of this key that exiting threads are running
 *   bit 31      DESTROY_WAITING: ct_local_destroy sleeps until the count is 0
 * Increments happen under reg_lock; the decrement is a release fetch_sub after
 * the destructor returned, and wakes the destroyer when it takes the count to
 * 0 with DESTROY_WAITING set.  The destroyer sets the bit with fetch_or and
 * then sleeps only while the count it reads (acquire) is non-zero; the wait
 * layer re-checks the whole word atomically with going to sleep, so a
 * decrement after the fetch_or always sees the bit and wakes it: no lost wake.
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "cthreading/local.h"
#include "cthreading/lock.h"
#include "internal/shm.h"
#include "internal/atomic.h"
#include "internal/fork.h"
#include "internal/once.h"
#include "internal/platform.h"
#include "platform/os.h"
#include "wait/wait.h"

/* Key ids live in KEY_DIR chunks of KEY_CHUNK entries: 4096 x 1024 = 2^22
 * live keys, far beyond any real program; the directory itself is 32 KiB of
 * pointers and chunks are allocated on demand. */
#define KEY_CHUNK_BITS 10
#define KEY_CHUNK (1u << KEY_CHUNK_BITS)
#define KEY_DIR 4096u
#define KEY_MAX (KEY_DIR * KEY_CHUNK)

/* A thread table starts with room for MIN_TABLE ids and doubles. */
#define MIN_TABLE 16u

/* A destructor may store new values; the exiting thread destroys those too,
 * for at most EXIT_ROUNDS rounds (like PTHREAD_DESTRUCTOR_ITERATIONS). */
#define EXIT_ROUNDS 4

#define DESTROY_WAITING 0x80000000u
#define PENDING_COUNT 0x7fffffffu

struct key_info {
    uint32_t pending;            /* see the header comment */
    uint32_t next_free;          /* free list link: id + 1, 0 = end */
    void (*dtor)(void *);
};

struct local_thread {
    struct local_thread *prev, *next;   /* global list, under reg_lock */
    void **values;                      /* entries, see the header comment */
    uint32_t cap;
};

static ct_lock_t reg_lock;
static struct key_info *key_dir[KEY_DIR];
/* Ids below it have been handed out.  Id 0 is never handed out: a zeroed
 * ct_local_t (id 0) is detected, and entry 0 of every table stays NULL, so
 * the fast path of ct_local_get on a zeroed key falls to the slow path. */
static uint32_t next_id = 1;
static uint32_t free_head;              /* id + 1 of the first free id, 0 = none */
static struct local_thread threads = { &threads, &threads, NULL, 0 };
static ct__os_tls_t os_slot;
static ct_once_t os_slot_once = CT_ONCE_INIT;   /* run under reg_lock (fork) */

static char present_null_marker;
#define PRESENT_NULL ((void *)&present_null_marker)

/* The initial-exec TLS model makes each access one load relative to the
 * thread pointer, also when the library is a shared object (the cost: three
 * pointers of static TLS, which every libc reserves room for); see
 * CT__TLS_INITIAL_EXEC in internal/platform.h. */
static _Thread_local void **tl_values CT__TLS_INITIAL_EXEC;    /* == tl_self->values */
static _Thread_local uint32_t tl_cap CT__TLS_INITIAL_EXEC;     /* == tl_self->cap */
static _Thread_local struct local_thread *tl_self CT__TLS_INITIAL_EXEC;

/* Thread exit in progress on this thread: the array of values it took out of
 * its table (each non-NULL entry counted in its key's pending word until its
 * destructor returned and the entry was cleared).  ct_local_destroy called
 * from a destructor takes its key's entry from here instead of waiting for
 * the exiting thread, i.e. for itself. */
static _Thread_local void **tl_exit_values;
static _Thread_local uint32_t tl_exit_cap;
/* The key id whose destructor thread_exit is running now (0: none). */
static _Thread_local uint32_t tl_exit_running;
/* This thread runs a ct_local_foreach callback (holds reg_lock). */
static _Thread_local bool tl_in_foreach;
/* Bumped in the child of every fork (under reg_lock): a visit that sees it
 * change across its callback stops (the records it walks are gone). */
static uint32_t fork_generation;

static inline struct key_info *key_info(uint32_t id)
{
    return &key_dir[id >> KEY_CHUNK_BITS][id & (KEY_CHUNK - 1)];
}

static inline bool has_value(void *entry) { return entry != NULL && entry != PRESENT_NULL; }

/* ---- thread exit --------------------------------------------------------------- */

static void release_pending(uint32_t id)
{
    struct key_info *info = key_info(id);
    uint32_t old = atomic_fetch_sub_explicit(CT__A32(&info->pending), 1, memory_order_release);
    if ((old & PENDING_COUNT) == 1 && (old & DESTROY_WAITING))
        ct_wake_all(&info->pending);
}

static void unlink_thread(struct local_thread *rec)
{
    rec->prev->next = rec->next;
    rec->next->prev = rec->prev;
    rec->prev = rec->next = rec;
}

/* The OS slot's destructor: runs on the exiting thread. */
static void thread_exit(void *p)
{
    struct local_thread *rec = p;

    if (!ct__os_tls_is_own(rec, tl_self))
        return;                    /* stale, from a fork (platform/os.h) */
    for (int round = 1;; round++) {
        void **values;
        uint32_t cap, n = 0;
        bool last;

        ct_lock_acquire(&reg_lock);
        values = rec->values;
        cap = rec->cap;
        rec->values = NULL;
        rec->cap = 0;
        for (uint32_t i = 0; i < cap; i++) {
            if (has_value(values[i])) {
                atomic_fetch_add_explicit(CT__A32(&key_info(i)->pending), 1,
                                          memory_order_relaxed);
                n++;
            } else {
                values[i] = NULL;      /* only counted values stay */
            }
        }
        last = n == 0 || round == EXIT_ROUNDS;
        if (last)
            unlink_thread(rec);
        tl_exit_values = values;
        tl_exit_cap = cap;
        ct_lock_release(&reg_lock);

        /* A destructor that gets a key now starts a fresh array (or, after the
         * last round, a fresh table, which the OS destroys in its next pass). */
        tl_values = NULL;
        tl_cap = 0;
        if (last)
            tl_self = NULL;
        for (uint32_t i = 0; i < cap; i++) {
            void *v = values[i];
            if (v != NULL) {
                void (*dtor)(void *) = key_info(i)->dtor;
                tl_exit_running = i;
                if (dtor != NULL)
                    dtor(v);
                tl_exit_running = 0;
                /* A destroy of key i inside a destructor may have taken the
                 * entry (and its pending count) already. */
                if (values[i] != NULL) {
                    values[i] = NULL;
                    release_pending(i);
                }
            }
        }
        tl_exit_values = NULL;
        tl_exit_cap = 0;
        free(values);
        if (last) {
            free(rec);
            return;
        }
    }
}

/* ---- fork ------------------------------------------------------------------------ */

/* prepare (internal/fork.h, order 1): the forking thread takes reg_lock —
 * unless it forks inside a ct_local_foreach callback, where it holds
 * reg_lock already (the registry is whole while the callback runs). */
static _Thread_local bool fork_in_foreach;   /* forking thread only */

static void local_fork_prepare(void)
{
    fork_in_foreach = tl_in_foreach;
    if (!fork_in_foreach)
        ct_lock_acquire(&reg_lock);
}

static void local_fork_parent(void)
{
    if (!fork_in_foreach)
        ct_lock_release(&reg_lock);
}

/* In the child only the forking thread survives: forget the other threads'
 * tables (their values are dropped, as pthread keys drop them) and the
 * destructor counts of threads that were exiting in the parent; keep the
 * counts of the forking thread's own exit, if it is exiting. */
static void local_fork_child(void)
{
    struct local_thread *rec, *next;

    for (rec = threads.next; rec != &threads; rec = next) {
        next = rec->next;
        if (!ct__os_tls_is_own(rec, tl_self)) {
            unlink_thread(rec);
            free(rec->values);
            free(rec);
        }
    }
    for (uint32_t id = 0; id < next_id; id++)
        if (key_dir[id >> KEY_CHUNK_BITS] != NULL)
            ct__store_relaxed(CT__A32(&key_info(id)->pending), 0);
    for (uint32_t i = 0; i < tl_exit_cap; i++)
        if (tl_exit_values[i] != NULL)
            atomic_fetch_add_explicit(CT__A32(&key_info(i)->pending), 1, memory_order_relaxed);
    fork_generation++;
    if (fork_in_foreach)
        ct__fork_child_keep_locked(&reg_lock);   /* ct_local_foreach releases it */
    else
        ct__fork_child_unlock(&reg_lock);
}

const struct ct__fork_hooks ct__local_fork_hooks = {
    local_fork_prepare, local_fork_parent, local_fork_child,
};

/* ---- per-thread table ------------------------------------------------------------------ */

/* Makes the calling thread's table hold index id.  Returns CT_OK or CT_ENOMEM
 * (nothing changed). */
CT__NOINLINE static int ensure_table(uint32_t id)
{
    struct local_thread *rec = tl_self;
    uint32_t cap;
    void **grown, **old;

    if (id < tl_cap)
        return CT_OK;
    if (rec == NULL) {
        if ((rec = calloc(1, sizeof *rec)) == NULL)
            return CT_ENOMEM;
        if (ct__os_tls_set(&os_slot, rec) != CT_OK) {
            free(rec);
            return CT_ENOMEM;
        }
        ct_lock_acquire(&reg_lock);
        rec->next = &threads;
        rec->prev = threads.prev;
        threads.prev->next = rec;
        threads.prev = rec;
        ct_lock_release(&reg_lock);
        tl_self = rec;
    }
    for (cap = rec->cap > MIN_TABLE ? rec->cap : MIN_TABLE; cap <= id; cap *= 2)
        ;
    if ((grown = calloc(cap, sizeof *grown)) == NULL)
        return CT_ENOMEM;
    ct_lock_acquire(&reg_lock);
    old = rec->values;
    if (rec->cap > 0)
        memcpy(grown, old, rec->cap * sizeof *grown);
    rec->values = grown;
    rec->cap = cap;
    ct_lock_release(&reg_lock);
    free(old);
    tl_values = grown;
    tl_cap = cap;
    return CT_OK;
}

static void store_entry(uint32_t id, void *entry)
{
    ct_lock_acquire(&reg_lock);
    tl_values[id] = entry;
    ct_lock_release(&reg_lock);
}

/* ---- public API ------------------------------------------------------------------------ */

static int os_slot_create(void *unused)
{
    (void)unused;
    return ct__os_tls_create(&os_slot, thread_exit);
}

int ct_local_init(ct_local_t *k, void *(*ctor)(void *), void (*dtor)(void *), void *arg)
{
    uint32_t id;
    int rc;

    assert(k != NULL);
    if (ct__shm_contains(k))
        return CT_EINVAL;        /* per process: not inside a region (shm.h) */
    ct__fork_ready();
    ct_lock_acquire(&reg_lock);
    if ((rc = ct__once(&os_slot_once, os_slot_create, NULL)) != CT_OK) {
        ct_lock_release(&reg_lock);
        return rc;
    }
    if (free_head != 0) {
        id = free_head - 1;
        free_head = key_info(id)->next_free;
    } else {
        if (next_id == KEY_MAX) {
            ct_lock_release(&reg_lock);
            return CT_EAGAIN;
        }
        id = next_id;
        if (key_dir[id >> KEY_CHUNK_BITS] == NULL &&
            (key_dir[id >> KEY_CHUNK_BITS] = calloc(KEY_CHUNK, sizeof(struct key_info))) == NULL) {
            ct_lock_release(&reg_lock);
            return CT_ENOMEM;
        }
        next_id++;
    }
    key_info(id)->dtor = dtor;
    key_info(id)->next_free = 0;
    ct_lock_release(&reg_lock);

    k->id = id;
    k->live = 1;
    k->ctor = ctor;
    k->dtor = dtor;
    k->arg = arg;
    return CT_OK;
}

/* A usable key: initialised and not destroyed (a zeroed or destroyed key
 * has id 0). */
static inline bool key_ok(const ct_local_t *k) { return k->id != 0 && k->live; }

CT__NOINLINE static void *get_slow(ct_local_t *k)
{
    uint32_t id = k->id;
    void *v;

    if (!key_ok(k))
        return NULL;                /* misuse: zeroed or destroyed key */
    if (id < tl_cap && tl_values[id] == PRESENT_NULL)
        return NULL;
    if (ensure_table(id) != CT_OK)
        return NULL;
    v = k->ctor != NULL ? k->ctor(k->arg) : NULL;
    /* ctor may have used other keys and grown the table: store afresh. */
    store_entry(id, v != NULL ? v : PRESENT_NULL);
    return v;
}

void *ct_local_get(ct_local_t *k)
{
    uint32_t id;

    assert(k != NULL);
    id = k->id;
    /* Entry 0 is always NULL: a zeroed or destroyed key (id 0) takes the
     * slow path, which detects it. */
    if (CT__LIKELY(id < tl_cap)) {
        void *v = tl_values[id];
        if (CT__LIKELY(has_value(v)))
            return v;
    }
    return get_slow(k);
}

int ct_local_set(ct_local_t *k, void *value)
{
    assert(k != NULL);
    if (!key_ok(k))
        return CT_EINVAL;
    if (ensure_table(k->id) != CT_OK)
        return CT_ENOMEM;
    store_entry(k->id, value != NULL ? value : PRESENT_NULL);
    return CT_OK;
}

void ct_local_foreach(ct_local_t *k, void (*fn)(void *, void *), void *arg)
{
    uint32_t id, gen;

    assert(k != NULL && fn != NULL);
    if (!key_ok(k))
        return;
    id = k->id;
    ct_lock_acquire(&reg_lock);
    gen = fork_generation;
    tl_in_foreach = true;
    for (struct local_thread *rec = threads.next; rec != &threads; rec = rec->next) {
        if (id < rec->cap && has_value(rec->values[id])) {
            fn(rec->values[id], arg);
            if (fork_generation != gen)
                break;           /* fn forked; this is the child: rec is gone */
        }
    }
    tl_in_foreach = false;
    ct_lock_release(&reg_lock);
}

void ct_local_destroy(ct_local_t *k)
{
    struct key_info *info;
    uint32_t id, w;

    assert(k != NULL);
    if (!key_ok(k))
        return;                 /* misuse: zeroed or already destroyed */
    id = k->id;
    info = key_info(id);

    /* Take the values out one at a time, running each destructor unlocked.
     * Each pass rescans the list from the start because threads may come and
     * go while the lock is free: O(threads) per value, fine for the rare
     * destroy, and it needs no memory (so destroy cannot fail). */
    for (;;) {
        void *v = NULL;
        ct_lock_acquire(&reg_lock);
        for (struct local_thread *rec = threads.next; rec != &threads; rec = rec->next) {
            if (id < rec->cap && rec->values[id] != NULL) {
                v = rec->values[id];
                rec->values[id] = NULL;
                if (has_value(v))
                    break;
                v = NULL;
            }
        }
        ct_lock_release(&reg_lock);
        if (v == NULL)
            break;
        if (k->dtor != NULL)
            k->dtor(v);
    }

    /* Called from a destructor of this thread's exit (of this key or of
     * another): the exiting thread is this thread, so its value of k is
     * destroyed here (unless its destructor is the one running now, i.e. the
     * caller), and its pending count dropped, instead of waited for. */
    if (id < tl_exit_cap && tl_exit_values[id] != NULL) {
        void *v = tl_exit_values[id];
        tl_exit_values[id] = NULL;
        if (tl_exit_running != id && k->dtor != NULL)
            k->dtor(v);
        release_pending(id);
    }

    /* Wait for destructors that exiting threads are running on this key. */
    w = atomic_fetch_or_explicit(CT__A32(&info->pending), DESTROY_WAITING,
                                 memory_order_acquire) | DESTROY_WAITING;
    while ((w & PENDING_COUNT) != 0) {
        (void)ct__wait_until(&info->pending, w, CT__NO_DEADLINE);
        w = ct__load_acquire(CT__A32(&info->pending));
    }

    ct_lock_acquire(&reg_lock);
    ct__store_relaxed(CT__A32(&info->pending), 0);
    info->dtor = NULL;
    info->next_free = free_head;
    free_head = id + 1;
    ct_lock_release(&reg_lock);
    k->live = 0;
    k->id = 0;
}
