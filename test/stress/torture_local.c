/* Torture: Local (thread-local values with constructor and destructor).
 *
 * Each step creates a key, gets its value on the worker (the constructor
 * runs once), starts 1-3 children that get it too, sometimes replace it
 * (ct_local_set: the replaced value is the caller's, never destroyed by the
 * key) and leave; the worker waits until the children are done with the key
 * and destroys it while some of them are still exiting, so that thread-exit
 * destructors race ct_local_destroy.  Then it joins the children.
 *
 * Invariants:
 *   - the constructor runs once per thread (a second get returns the same
 *     value without a new constructor call);
 *   - the destructor runs exactly once for every value still installed when
 *     its thread exits or the key is destroyed, and never for a replaced one;
 *   - when ct_local_destroy returns every destructor call has finished, and
 *     none comes later (checked again after the children are joined);
 *   - ct_local_foreach visits only live values, at most one per thread.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "torture.h"

#define MAX_CHILDREN 3
#define MAX_RECS 16
#define MAGIC 0x10ca1u

enum { C_KEYS, C_VALUES, C_DTORS, C_REPLACED, C_CHILDREN, C_FOREACH };
static const char *const names[] = { "keys", "values", "dtors", "replaced", "children",
                                     "foreach", NULL };

struct ctx;
struct rec {
    unsigned magic;
    atomic_int dtors;
    bool replaced;                 /* set by its thread before anyone checks */
    struct ctx *ctx;
};

struct ctx {
    ct_local_t key;
    struct rec *recs[MAX_RECS];
    atomic_int nrecs;
    atomic_int dtor_total;
    uint32_t children_done;        /* atomic via the casts; ct_wait word */
    atomic_int bad;                /* a check failed on a child */
    uint64_t seed;
};

static struct rec *new_rec(struct ctx *c)
{
    struct rec *r = calloc(1, sizeof *r);
    int i = atomic_fetch_add(&c->nrecs, 1);
    r->magic = MAGIC;
    r->ctx = c;
    if (i >= MAX_RECS)
        abort();
    c->recs[i] = r;
    return r;
}

static void *ctor(void *arg) { return new_rec(arg); }

static void dtor(void *v)
{
    struct rec *r = v;
    if (r->magic != MAGIC || atomic_fetch_add(&r->dtors, 1) != 0)
        atomic_store(&r->ctx->bad, 1);
    atomic_fetch_add(&r->ctx->dtor_total, 1);
}

struct child { struct ctx *c; uint64_t rng; };

static void child_main(void *p)
{
    struct child *ch = p;
    struct ctx *c = ch->c;
    struct rec *r = ct_local_get(&c->key);
    if (r == NULL || r->magic != MAGIC || ct_local_get(&c->key) != r)
        atomic_store(&c->bad, 2);
    switch (ch->rng % 4) {
    case 0:                        /* replace with a fresh value */
        r->replaced = true;
        if (ct_local_set(&c->key, new_rec(c)) != CT_OK)
            atomic_store(&c->bad, 3);
        break;
    case 1:                        /* replace with NULL: no destructor at exit */
        r->replaced = true;
        if (ct_local_set(&c->key, NULL) != CT_OK || ct_local_get(&c->key) != NULL)
            atomic_store(&c->bad, 4);
        break;
    default:
        break;
    }
    atomic_fetch_add_explicit((_Atomic uint32_t *)&c->children_done, 1, memory_order_release);
    ct_wake_all(&c->children_done);
    /* Sometimes linger a little, so that this exit races the destroy. */
    for (uint64_t i = (ch->rng >> 8) % 3000; i > 0; i--)
        atomic_signal_fence(memory_order_seq_cst);
}

static void count_value(void *value, void *arg)
{
    struct rec *r = value;
    int *n = arg;
    if (r->magic != MAGIC || atomic_load(&r->dtors) != 0 || r->replaced)
        atomic_store(&r->ctx->bad, 5);
    (*n)++;
}

static void *setup(int nthreads)
{
    (void)nthreads;
    return calloc(1, 1);
}

static void teardown(void *p) { free(p); }

static void check_recs(struct ctx *c, struct torture_worker *w, const char *when)
{
    int n = atomic_load(&c->nrecs), expect = 0;
    for (int i = 0; i < n; i++) {
        struct rec *r = c->recs[i];
        int d = atomic_load(&r->dtors);
        if (d != (r->replaced ? 0 : 1))
            torture_fail(w, "%s: value %d (%s) destroyed %d time(s)", when, i,
                         r->replaced ? "replaced" : "installed", d);
        expect += !r->replaced;
    }
    if (atomic_load(&c->dtor_total) != expect)
        torture_fail(w, "%s: %d destructor calls for %d installed values", when,
                     atomic_load(&c->dtor_total), expect);
}

static void step(void *p, struct torture_worker *w)
{
    struct ctx *c = calloc(1, sizeof *c);
    struct child ch[MAX_CHILDREN];
    ct_thread_t t[MAX_CHILDREN];
    int nchildren = 1 + (int)torture_below(w, MAX_CHILDREN), started = 0, rc;
    (void)p;

    torture_delay(w);
    if ((rc = ct_local_init(&c->key, ctor, dtor, c)) != CT_OK) {
        torture_fail(w, "local_init returned %s", ct_strerror(rc));
        free(c);
        return;
    }
    w->counts[C_KEYS]++;
    struct rec *mine = ct_local_get(&c->key);
    if (mine == NULL || ct_local_get(&c->key) != mine || atomic_load(&c->nrecs) != 1)
        torture_fail(w, "own get: constructor not run exactly once");
    if (torture_below(w, 4) == 0) {
        mine->replaced = true;
        if (ct_local_set(&c->key, new_rec(c)) != CT_OK)
            torture_fail(w, "local_set failed");
        w->counts[C_REPLACED]++;
    }
    for (int i = 0; i < nchildren; i++) {
        ch[i].c = c;
        ch[i].rng = torture_rand(w);
        torture_begin(w, "thread_start(local child)");
        rc = ct_thread_start(&t[started], child_main, &ch[i]);
        torture_end(w);
        if (rc == CT_OK)
            started++;
        else if (rc != CT_EAGAIN)
            torture_fail(w, "thread_start returned %s", ct_strerror(rc));
    }
    w->counts[C_CHILDREN] += (uint64_t)started;
    torture_begin(w, "wait for the children's gets");
    for (;;) {
        uint32_t d = atomic_load_explicit((_Atomic uint32_t *)&c->children_done,
                                          memory_order_acquire);
        if (d >= (uint32_t)started)
            break;
        (void)ct_wait(&c->children_done, d, CT_MS(100));
    }
    torture_end(w);
    if (torture_below(w, 4) == 0) {
        int visited = 0;
        ct_local_foreach(&c->key, count_value, &visited);
        if (visited > started + 1)
            torture_fail(w, "foreach visited %d values with %d threads", visited, started + 1);
        w->counts[C_FOREACH]++;
    }
    torture_delay(w);
    torture_begin(w, "local_destroy");
    ct_local_destroy(&c->key);
    torture_end(w);
    check_recs(c, w, "after destroy");
    for (int i = 0; i < started; i++) {
        torture_begin(w, "thread_join(local child)");
        if ((rc = ct_thread_join(&t[i], CT_FOREVER)) != CT_OK)
            torture_fail(w, "join returned %s", ct_strerror(rc));
        torture_end(w);
    }
    check_recs(c, w, "after the children exited");
    if (atomic_load(&c->bad))
        torture_fail(w, "a child or a destructor saw a bad value (code %d)",
                     atomic_load(&c->bad));
    int n = atomic_load(&c->nrecs);
    w->counts[C_VALUES] += (uint64_t)n;
    w->counts[C_DTORS] += (uint64_t)atomic_load(&c->dtor_total);
    for (int i = 0; i < n; i++)
        free(c->recs[i]);
    free(c);
}

const struct torture_prim torture_local = {
    .name = "local",
    .invariants = "constructor once per thread, destructor exactly once per installed value "
                  "(thread exit racing destroy), never for a replaced one, none after destroy",
    .count_names = names,
    .setup = setup,
    .step = step,
    .quiesce = NULL,
    .teardown = teardown,
    .no_signals_under_tsan = true,
};
