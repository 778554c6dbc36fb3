/* libFuzzer target: Local (thread-local keys) against a model, on one thread
 * plus short-lived helper threads.
 *
 * Up to four keys are created and destroyed as the input says.  Values are
 * small heap records that the destructor frees (so AddressSanitizer reports
 * a destructor that runs twice, and LeakSanitizer one that never runs).
 * Model per key: live, whether this thread has a value, which one, and
 * whether the key has a constructor.  Checked: the constructor runs on the
 * first get only, and not after a set (even of NULL); get returns the value
 * last set; set does not destroy the value it replaces (the caller frees
 * it); destroy runs the destructor exactly once for this thread's non-NULL
 * value; a helper thread gets its own value (constructor once), and its exit
 * runs the destructor before the join returns; foreach visits exactly this
 * thread's non-NULL value.
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "fuzz_input.h"

#define KEYS 4
#define MAGIC 0x5eed1u

struct val { unsigned magic; int *dtors; };

static int ctor_calls, dtor_calls;

static struct val *new_val(void)
{
    struct val *v = malloc(sizeof *v);
    v->magic = MAGIC;
    v->dtors = &dtor_calls;
    return v;
}

static void *ctor(void *arg)
{
    (void)arg;
    ctor_calls++;
    return new_val();
}

static void dtor(void *p)
{
    struct val *v = p;
    FUZZ_CHECK(v->magic == MAGIC, "destructor got a bad value");
    (*v->dtors)++;
    v->magic = 0;
    free(v);
}

struct key {
    ct_local_t k;
    bool live, has_ctor, has_value;
    struct val *value;             /* this thread's value when has_value */
};

struct helper { ct_local_t *k; bool has_ctor; bool ok; };

static void helper_main(void *p)
{
    struct helper *h = p;
    void *v = ct_local_get(h->k);
    /* Its own value: a fresh one from the constructor, or NULL without one. */
    h->ok = h->has_ctor ? v != NULL && ct_local_get(h->k) == v : v == NULL;
}

static void visit(void *value, void *arg)
{
    struct val *v = value;
    FUZZ_CHECK(v->magic == MAGIC, "foreach visited a bad value");
    (*(int *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    struct key keys[KEYS];

    memset(keys, 0, sizeof keys);
    for (int steps = 0; in.n > 0 && steps < 128; steps++) {
        uint8_t op = fuzz_u8(&in);
        struct key *k = &keys[(op >> 4) % KEYS];
        int c0 = ctor_calls, d0 = dtor_calls;
        if (!k->live) {             /* every other op needs a live key */
            bool with = (op & 1) == 0;
            int rc = ct_local_init(&k->k, with ? ctor : NULL, dtor, NULL);
            FUZZ_EXPECT_RC(rc, CT_OK, "local_init");
            *k = (struct key){ k->k, true, with, false, NULL };
            continue;
        }
        switch (op & 7) {
        case 0: case 1: case 2: {   /* get */
            void *v = ct_local_get(&k->k);
            if (!k->has_value) {
                FUZZ_CHECK(ctor_calls == c0 + k->has_ctor, "constructor calls on first get");
                k->has_value = true;
                k->value = v;
                FUZZ_CHECK(k->has_ctor ? v != NULL : v == NULL, "first get");
            } else {
                FUZZ_CHECK(ctor_calls == c0, "constructor ran again");
                FUZZ_CHECK(v == k->value, "get returned another value");
            }
            break;
        }
        case 3: case 4: {           /* set a new value, or NULL; free the old one */
            struct val *nv = (op & 8) ? NULL : new_val();
            FUZZ_EXPECT_RC(ct_local_set(&k->k, nv), CT_OK, "local_set");
            FUZZ_CHECK(dtor_calls == d0, "set destroyed the value it replaced");
            if (k->has_value && k->value)
                free(k->value);     /* the caller owns what it replaced */
            k->has_value = true;
            k->value = nv;
            FUZZ_CHECK(ct_local_get(&k->k) == nv && ctor_calls == c0, "get after set");
            break;
        }
        case 5: {                   /* destroy */
            ct_local_destroy(&k->k);
            int want = k->has_value && k->value != NULL;
            FUZZ_CHECK(dtor_calls == d0 + want, "destroy ran %d destructors, want %d",
                       dtor_calls - d0, want);
            k->live = false;
            break;
        }
        case 6: {                   /* a helper thread uses the key and exits */
            struct helper h = { &k->k, k->has_ctor, false };
            fuzz_in_thread(helper_main, &h);
            FUZZ_CHECK(h.ok, "helper's get");
            FUZZ_CHECK(ctor_calls == c0 + k->has_ctor, "helper: constructor calls");
            FUZZ_CHECK(dtor_calls == d0 + k->has_ctor, "helper's exit ran %d destructors",
                       dtor_calls - d0);
            break;
        }
        default: {                  /* foreach */
            int n = 0;
            ct_local_foreach(&k->k, visit, &n);
            FUZZ_CHECK(n == (k->has_value && k->value != NULL), "foreach visited %d", n);
            break;
        }
        }
    }
    for (int i = 0; i < KEYS; i++) {
        if (keys[i].live) {
            int d0 = dtor_calls;
            ct_local_destroy(&keys[i].k);
            FUZZ_CHECK(dtor_calls == d0 + (keys[i].has_value && keys[i].value != NULL),
                       "final destroy");
        }
    }
    return 0;
}
