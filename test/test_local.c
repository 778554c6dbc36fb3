/* Local: isolation between threads, lazy ctor once per thread, dtor exactly
 * once per value at thread exit (also foreign threads) or at destroy —
 * including exits racing destroy — 100,000 live keys, key recycling, 1,000
 * short-lived threads (leak-checked under ASan/LSan), and foreach. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "ct_test.h"
#include "helpers.h"

/* A value that records its own destruction. */
struct val {
    int owner;
    atomic_int destroyed;
};

struct counters {
    atomic_int ctor_calls;
    atomic_int dtor_calls;
    atomic_int next_owner;
};

static struct counters *cur;            /* the running test's counters */

static void *make_val(void *arg)
{
    struct counters *c = arg;
    struct val *v = calloc(1, sizeof *v);
    atomic_fetch_add(&c->ctor_calls, 1);
    v->owner = atomic_fetch_add(&c->next_owner, 1);
    return v;
}

/* Counts and frees.  A second destruction of the same value is a double
 * free, which the ASan build reports; tests that must see each value
 * destroyed exactly once use mark_destroyed on values they own instead. */
static void free_val(void *p)
{
    atomic_fetch_add(&cur->dtor_calls, 1);
    free(p);
}

static void reset(struct counters *c)
{
    memset(c, 0, sizeof *c);
    cur = c;
}

Test(local, ctor_runs_lazily_once_per_thread)
{
    struct counters c;
    ct_local_t k;
    reset(&c);
    cr_assert_eq(ct_local_init(&k, make_val, free_val, &c), CT_OK);
    cr_assert_eq(atomic_load(&c.ctor_calls), 0, "ctor runs lazily");
    void *a = ct_local_get(&k);
    cr_assert_not_null(a);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(ct_local_get(&k), a);
    cr_assert_eq(atomic_load(&c.ctor_calls), 1);
    ct_local_destroy(&k);
    cr_assert_eq(atomic_load(&c.dtor_calls), 1);
}

Test(local, no_ctor_means_null_and_set_replaces)
{
    ct_local_t k;
    int x = 1, y = 2;
    cr_assert_eq(ct_local_init(&k, NULL, NULL, NULL), CT_OK);
    cr_assert_null(ct_local_get(&k));
    cr_assert_eq(ct_local_set(&k, &x), CT_OK);
    cr_assert_eq(ct_local_get(&k), &x);
    cr_assert_eq(ct_local_set(&k, &y), CT_OK);
    cr_assert_eq(ct_local_get(&k), &y);
    cr_assert_eq(ct_local_set(&k, NULL), CT_OK);
    cr_assert_null(ct_local_get(&k));
    ct_local_destroy(&k);
}

static void *ctor_counting(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
    return NULL;
}

Test(local, null_from_ctor_or_set_is_a_value)
{
    ct_local_t k;
    atomic_int calls = 0;
    cr_assert_eq(ct_local_init(&k, ctor_counting, NULL, &calls), CT_OK);
    cr_assert_null(ct_local_get(&k));
    cr_assert_null(ct_local_get(&k));
    cr_assert_eq(atomic_load(&calls), 1, "a NULL result is remembered");
    ct_local_destroy(&k);
}

struct iso {
    ct_local_t *k;
    int id;
    void *seen_first, *seen_after;
    atomic_int *set, *go;
};

static void isolation_thread(void *p)
{
    struct iso *s = p;
    int *mine = &s->id;
    s->seen_first = ct_local_get(s->k);
    ct_local_set(s->k, mine);
    atomic_fetch_add(s->set, 1);
    while (atomic_load(s->go) == 0)           /* until all threads have set theirs */
        t_pause(CT_US(100));
    s->seen_after = ct_local_get(s->k);
}

Test(local, values_are_isolated_between_threads)
{
    enum { N = 8 };
    ct_local_t k;
    struct iso s[N];
    ct_thread_t th[N];
    atomic_int set = 0, go = 0;
    int main_val = 42;

    cr_assert_eq(ct_local_init(&k, NULL, NULL, NULL), CT_OK);
    cr_assert_eq(ct_local_set(&k, &main_val), CT_OK);
    for (int i = 0; i < N; i++) {
        s[i] = (struct iso){ &k, i, (void *)1, NULL, &set, &go };
        cr_assert_eq(ct_thread_start(&th[i], isolation_thread, &s[i]), CT_OK);
    }
    /* The gate opens once every thread has stored its value, so that each
     * one reads its own back while all the others hold theirs. */
    cr_assert_eq(t_await_count(&set, N), N);
    cr_assert_eq(ct_local_get(&k), &main_val, "the threads' sets left the main value alone");
    atomic_store(&go, 1);
    for (int i = 0; i < N; i++)
        cr_assert_eq(ct_thread_join(&th[i], CT_FOREVER), CT_OK);
    for (int i = 0; i < N; i++) {
        cr_assert_null(s[i].seen_first, "thread %d saw another thread's value", i);
        cr_assert_eq(s[i].seen_after, &s[i].id);
    }
    cr_assert_eq(ct_local_get(&k), &main_val);
    ct_local_destroy(&k);
}

static void get_once(void *p) { (void)ct_local_get(p); }

static void *pthread_get_once(void *p)
{
    (void)ct_local_get(p);
    return NULL;
}

Test(local, dtor_once_at_thread_exit_also_foreign_threads)
{
    enum { N = 16 };
    struct counters c;
    ct_local_t k;
    ct_thread_t th[N];
    pthread_t pt[N];
    reset(&c);
    cr_assert_eq(ct_local_init(&k, make_val, free_val, &c), CT_OK);
    for (int i = 0; i < N; i++)
        cr_assert_eq(ct_thread_start(&th[i], get_once, &k), CT_OK);
    for (int i = 0; i < N; i++)
        cr_assert_eq(pthread_create(&pt[i], NULL, pthread_get_once, &k), 0);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(ct_thread_join(&th[i], CT_FOREVER), CT_OK);
        cr_assert_eq(pthread_join(pt[i], NULL), 0);
    }
    cr_assert_eq(atomic_load(&c.ctor_calls), 2 * N);
    cr_assert_eq(atomic_load(&c.dtor_calls), 2 * N, "every exited thread's value destroyed");
    ct_local_destroy(&k);
    cr_assert_eq(atomic_load(&c.dtor_calls), 2 * N, "destroy found none left");
}

/* Threads that hold a value and wait for a gate, then exit. */
struct holder {
    ct_local_t *k;
    uint32_t *gate;
    atomic_int *ready;
    struct val *v;
    struct val *own;             /* if set: store it instead of calling get */
};

static void hold_until_gate(void *p)
{
    struct holder *h = p;
    if (h->own != NULL)
        ct_local_set(h->k, h->v = h->own);
    else
        h->v = ct_local_get(h->k);
    atomic_fetch_add(h->ready, 1);
    while (atomic_load((_Atomic uint32_t *)h->gate) == 0)
        ct_wait(h->gate, 0, CT_FOREVER);
}

static void open_gate(uint32_t *gate)
{
    atomic_store((_Atomic uint32_t *)gate, 1);
    ct_wake_all(gate);
}

static void wait_ready(atomic_int *ready, int n)
{
    int64_t end = t_now() + T_SLACK;
    while (atomic_load(ready) < n && t_now() < end)
        t_pause(CT_US(100));
}

Test(local, destroy_runs_dtor_of_live_threads_once)
{
    enum { N = 8 };
    struct counters c;
    ct_local_t k;
    struct holder h[N];
    ct_thread_t th[N];
    uint32_t gate = 0;
    atomic_int ready = 0;

    reset(&c);
    cr_assert_eq(ct_local_init(&k, make_val, free_val, &c), CT_OK);
    (void)ct_local_get(&k);                           /* the main thread's too */
    for (int i = 0; i < N; i++) {
        h[i] = (struct holder){ &k, &gate, &ready, NULL, NULL };
        cr_assert_eq(ct_thread_start(&th[i], hold_until_gate, &h[i]), CT_OK);
    }
    wait_ready(&ready, N);
    cr_assert_eq(atomic_load(&ready), N);
    ct_local_destroy(&k);
    cr_assert_eq(atomic_load(&c.dtor_calls), N + 1);
    open_gate(&gate);
    for (int i = 0; i < N; i++)
        cr_assert_eq(ct_thread_join(&th[i], CT_FOREVER), CT_OK);
    cr_assert_eq(atomic_load(&c.dtor_calls), N + 1, "thread exit ran a destroyed value's dtor");
}

/* Values that are not freed by their dtor, so the test can check that each
 * was destroyed exactly once. */
static void mark_destroyed(void *p)
{
    struct val *v = p;
    atomic_fetch_add(&v->destroyed, 1);
    atomic_fetch_add(&cur->dtor_calls, 1);
}

Test(local, thread_exit_racing_destroy_exactly_once, .timeout = 120)
{
    enum { N = 16, ROUNDS = 60 };
    struct counters c;
    struct val vals[N];
    ct_local_t k;
    struct holder h[N];
    ct_thread_t th[N];
    int bad = 0;

    reset(&c);
    for (int r = 0; r < ROUNDS; r++) {
        uint32_t gate = 0;
        atomic_int ready = 0;
        memset(vals, 0, sizeof vals);
        cr_assert_eq(ct_local_init(&k, NULL, mark_destroyed, NULL), CT_OK);
        for (int i = 0; i < N; i++) {
            h[i] = (struct holder){ &k, &gate, &ready, NULL, &vals[i] };
            cr_assert_eq(ct_thread_start(&th[i], hold_until_gate, &h[i]), CT_OK);
        }
        wait_ready(&ready, N);
        cr_assert_eq(atomic_load(&ready), N);
        open_gate(&gate);                      /* threads exit ... */
        for (volatile int spin = 0; spin < (r % 7) * 3000; spin++)
            ;
        ct_local_destroy(&k);                  /* ... while the key is destroyed */
        /* destroy returned: every value's dtor has finished, exactly once. */
        for (int i = 0; i < N; i++)
            if (atomic_load(&vals[i].destroyed) != 1)
                bad++;
        for (int i = 0; i < N; i++)
            cr_assert_eq(ct_thread_join(&th[i], CT_FOREVER), CT_OK);
        for (int i = 0; i < N; i++)
            if (atomic_load(&vals[i].destroyed) != 1)
                bad++;
    }
    cr_assert_eq(bad, 0, "%d values destroyed zero or several times", bad);
    cr_assert_eq(atomic_load(&c.dtor_calls), N * ROUNDS);
}

Test(local, hundred_thousand_live_keys, .timeout = 120)
{
    enum { N = 100000 };
    ct_local_t *k = malloc(N * sizeof *k);
    int ok = 1;

    cr_assert_not_null(k);
    for (int i = 0; i < N; i++)
        cr_assert_eq(ct_local_init(&k[i], NULL, NULL, NULL), CT_OK, "key %d", i);
    for (int i = 0; i < N; i++)
        cr_assert_eq(ct_local_set(&k[i], (void *)(uintptr_t)(i + 1)), CT_OK);
    for (int i = 0; i < N; i++)
        ok &= ct_local_get(&k[i]) == (void *)(uintptr_t)(i + 1);
    cr_assert(ok, "a key read another key's value");
    for (int i = 0; i < N; i++)
        ct_local_destroy(&k[i]);
    /* Recycled ids start out empty. */
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(ct_local_init(&k[i], NULL, NULL, NULL), CT_OK);
        cr_assert_null(ct_local_get(&k[i]), "recycled key %d kept an old value", i);
    }
    for (int i = 0; i < 1000; i++)
        ct_local_destroy(&k[i]);
    free(k);
}

static void *malloc_ctor(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
    return malloc(64);
}

static atomic_int short_lived_freed;

static void free_count(void *p)
{
    free(p);
    atomic_fetch_add(&short_lived_freed, 1);
}

static atomic_int short_lived_null;

static void use_two_keys(void *p)
{
    ct_local_t *k = p;
    if (ct_local_get(&k[0]) == NULL || ct_local_get(&k[1]) == NULL)
        atomic_fetch_add(&short_lived_null, 1);
}

/* No value or table leaks: run under ASan/LSan this fails on a leak. */
Test(local, thousand_short_lived_threads_no_leak, .timeout = 120)
{
    enum { N = 1024, BATCH = 16 };    /* N a multiple of BATCH */
    ct_local_t k[2];
    atomic_int made = 0;
    ct_thread_t th[BATCH];

    atomic_store(&short_lived_freed, 0);
    atomic_store(&short_lived_null, 0);
    cr_assert_eq(ct_local_init(&k[0], malloc_ctor, free_count, &made), CT_OK);
    cr_assert_eq(ct_local_init(&k[1], malloc_ctor, free_count, &made), CT_OK);
    for (int i = 0; i < N; i += BATCH) {
        for (int j = 0; j < BATCH; j++)
            cr_assert_eq(ct_thread_start(&th[j], use_two_keys, k), CT_OK);
        for (int j = 0; j < BATCH; j++)
            cr_assert_eq(ct_thread_join(&th[j], CT_FOREVER), CT_OK);
    }
    cr_assert_eq(atomic_load(&short_lived_null), 0);
    cr_assert_eq(atomic_load(&made), 2 * N, "%d values made", atomic_load(&made));
    cr_assert_eq(atomic_load(&short_lived_freed), 2 * N, "%d freed",
                 atomic_load(&short_lived_freed));
    ct_local_destroy(&k[0]);
    ct_local_destroy(&k[1]);
}

static void sum_values(void *value, void *arg)
{
    *(long *)arg += *(int *)value;
}

static void count_values(void *value, void *arg)
{
    (void)value;
    ++*(int *)arg;
}

Test(local, foreach_sees_exactly_the_live_values)
{
    enum { N = 8 };
    ct_local_t k;
    struct val vals[N];
    struct holder h[N];
    ct_thread_t th[N];
    uint32_t gate = 0;
    atomic_int ready = 0;
    long sum = 0;
    int count = 0, main_val = 1000;

    memset(vals, 0, sizeof vals);
    cr_assert_eq(ct_local_init(&k, NULL, NULL, NULL), CT_OK);
    ct_local_foreach(&k, count_values, &count);
    cr_assert_eq(count, 0);
    for (int i = 0; i < N; i++) {
        vals[i].owner = i + 1;
        h[i] = (struct holder){ &k, &gate, &ready, NULL, &vals[i] };
        cr_assert_eq(ct_thread_start(&th[i], hold_until_gate, &h[i]), CT_OK);
    }
    wait_ready(&ready, N);
    cr_assert_eq(atomic_load(&ready), N);
    /* struct val begins with owner (an int): sum the owners. */
    ct_local_foreach(&k, sum_values, &sum);
    cr_assert_eq(sum, N * (N + 1) / 2);
    cr_assert_eq(ct_local_set(&k, &main_val), CT_OK);
    sum = 0;
    ct_local_foreach(&k, sum_values, &sum);
    cr_assert_eq(sum, N * (N + 1) / 2 + 1000);
    open_gate(&gate);
    for (int i = 0; i < N; i++)
        cr_assert_eq(ct_thread_join(&th[i], CT_FOREVER), CT_OK);
    sum = 0;
    ct_local_foreach(&k, sum_values, &sum);
    cr_assert_eq(sum, 1000, "exited threads' values are gone");
    ct_local_destroy(&k);
}

/* A destructor may use other keys (and even create values there). */
static ct_local_t chain_other;
static atomic_int chain_other_dtor;

static void other_dtor(void *p) { (void)p; atomic_fetch_add(&chain_other_dtor, 1); }

static void dtor_uses_other_key(void *p)
{
    (void)p;
    ct_local_set(&chain_other, &chain_other);
}

static void set_first(void *p) { ct_local_set(p, p); }

Test(local, dtor_may_use_other_keys)
{
    ct_local_t first;
    ct_thread_t th;
    atomic_store(&chain_other_dtor, 0);
    cr_assert_eq(ct_local_init(&first, NULL, dtor_uses_other_key, NULL), CT_OK);
    cr_assert_eq(ct_local_init(&chain_other, NULL, other_dtor, NULL), CT_OK);
    cr_assert_eq(ct_thread_start(&th, set_first, &first), CT_OK);
    cr_assert_eq(ct_thread_join(&th, CT_FOREVER), CT_OK);
    cr_assert_eq(atomic_load(&chain_other_dtor), 1, "value stored by a dtor was destroyed");
    ct_local_destroy(&first);
    ct_local_destroy(&chain_other);
}
