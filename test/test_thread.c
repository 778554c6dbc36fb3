/* Threads: start, join with timeout, identity. */
#include "ct_test.h"
#include "helpers.h"
#include "sanitizer_fork.h"   /* clang 14 ASan: allocator locks around fork (the fork test) */

static void set_flag(void *p) { atomic_store((atomic_int *)p, 1); }

Test(thread, start_and_join)
{
    atomic_int flag = 0;
    ct_thread_t t;
    cr_assert_eq(ct_thread_start(&t, set_flag, &flag), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(atomic_load(&flag), 1);
    cr_assert_eq(ct_thread_join(&t, 0), CT_OK, "a second join returns CT_OK at once");
}

static void block_on_lock(void *p)
{
    ct_lock_t *l = p;
    ct_lock_acquire(l);
    ct_lock_release(l);
}

Test(thread, join_times_out_while_running)
{
    ct_lock_t l = CT_LOCK_INIT;
    ct_thread_t t;
    ct_lock_acquire(&l);
    cr_assert_eq(ct_thread_start(&t, block_on_lock, &l), CT_OK);
    cr_assert_eq(ct_thread_join(&t, 0), CT_ETIMEDOUT);
    int64_t t0 = t_now();
    cr_assert_eq(ct_thread_join(&t, CT_MS(30)), CT_ETIMEDOUT);
    cr_assert_geq(t_now() - t0, CT_MS(30));
    cr_assert_eq(ct_thread_join(&t, -7), CT_EINVAL);
    cr_assert_eq(ct_thread_join(&t, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
    ct_lock_release(&l);
    cr_assert_eq(ct_thread_join(&t, CT_SEC(60)), CT_OK);
}

static void record_ident(void *p) { *(uint64_t *)p = ct_thread_ident(); }

Test(thread, ident_is_stable_unique_and_never_reused)
{
    enum { N = 200 };
    static uint64_t ids[N];
    uint64_t me = ct_thread_ident();

    cr_assert_neq(me, 0u);
    cr_assert_eq(ct_thread_ident(), me);
    /* Sequential threads: the OS may reuse thread ids, we must not. */
    for (int i = 0; i < N; i++) {
        ct_thread_t t;
        cr_assert_eq(ct_thread_start(&t, record_ident, &ids[i]), CT_OK);
        cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
        cr_assert_neq(ids[i], 0u);
        cr_assert_neq(ids[i], me);
        for (int j = 0; j < i; j++)
            cr_assert_neq(ids[i], ids[j], "ident reused");
    }
}

/* ---- helpers ------------------------------------------------------------------ */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#include <windows.h>
#include <process.h>
#include <wchar.h>
#else
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
#endif

/* A thread the library did not create (pthread_create / _beginthreadex). */
typedef struct { uintptr_t h; } foreign_t;
struct foreign_call { void (*fn)(void *); void *arg; };
#if defined(_WIN32)
static unsigned __stdcall foreign_tramp(void *p)
{
    struct foreign_call *c = p;
    c->fn(c->arg);
    return 0;
}
static void foreign_start(foreign_t *f, struct foreign_call *c)
{
    f->h = _beginthreadex(NULL, 0, foreign_tramp, c, 0, NULL);
    cr_assert_neq(f->h, 0u);
}
static void foreign_join(foreign_t *f)
{
    WaitForSingleObject((HANDLE)f->h, INFINITE);
    CloseHandle((HANDLE)f->h);
}
#else
static void *foreign_tramp(void *p)
{
    struct foreign_call *c = p;
    c->fn(c->arg);
    return NULL;
}
static void foreign_start(foreign_t *f, struct foreign_call *c)
{
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, foreign_tramp, c), 0);
    f->h = (uintptr_t)t;
}
static void foreign_join(foreign_t *f) { pthread_join((pthread_t)f->h, NULL); }
#endif

/* A gate: threads wait until it opens. */
static void gate_wait(uint32_t *g)
{
    while (__atomic_load_n(g, __ATOMIC_ACQUIRE) == 0)
        (void)ct_wait(g, 0, CT_FOREVER);
}
static void gate_open(uint32_t *g)
{
    __atomic_store_n(g, 1, __ATOMIC_RELEASE);
    ct_wake_all(g);
}
static void wait_on_gate(void *p) { gate_wait(p); }

/* What a worker sees of itself. */
struct self_view {
    char name[64];
    uint64_t ident, native_self, native_of_current;
    bool alive_inside, same_record;
    int join_self_rc, current_rc;
    uint32_t *gate;
    atomic_int looked;
};

static void look_at_self(void *p)
{
    struct self_view *v = p;
    ct_thread_t me, again;
    v->current_rc = ct_thread_current(&me);
    (void)ct_thread_current(&again);
    v->same_record = me.rec == again.rec && ct_thread_ident_of(&me) == ct_thread_ident_of(&again);
    snprintf(v->name, sizeof v->name, "%s", ct_thread_name(&me));
    v->ident = ct_thread_ident_of(&me);
    v->native_self = ct_thread_native_id_self();
    v->native_of_current = ct_thread_native_id(&me);
    v->alive_inside = ct_thread_is_alive(&me);
    v->join_self_rc = ct_thread_join(&me, 0);
    atomic_store(&v->looked, 1);
    if (v->gate)
        gate_wait(v->gate);
}

static unsigned long name_number(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    cr_assert(strncmp(name, prefix, n) == 0, "name '%s' does not start with '%s'", name, prefix);
    return strtoul(name + n, NULL, 10);
}

/* ---- names ----------------------------------------------------------------------- */

Test(thread, default_names_count_on_after_threads_ended_and_share_dummy_numbers)
{
    struct self_view v1 = { 0 }, v2 = { 0 }, v3 = { 0 }, v4 = { 0 };
    ct_thread_t t;

    cr_assert_eq(ct_thread_start(&t, look_at_self, &v1), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    unsigned long n = name_number(v1.name, "Thread-");
    cr_assert_geq(n, 1ul);

    /* The first thread ended and was released: numbering continues. */
    cr_assert_eq(ct_thread_start(&t, look_at_self, &v2), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(name_number(v2.name, "Thread-"), n + 1, "got %s after Thread-%lu", v2.name, n);

    /* An explicit name takes no number (CPython's _newname is not called). */
    ct_thread_options_t o = { .name = "worker" };
    cr_assert_eq(ct_thread_start_ex(&t, &o, look_at_self, &v3), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_str_eq(v3.name, "worker");

    /* A foreign thread takes the next number as Dummy-N (one shared counter). */
    struct foreign_call c = { look_at_self, &v4 };
    foreign_t f;
    foreign_start(&f, &c);
    foreign_join(&f);
    cr_assert_eq(v4.current_rc, CT_OK);
    cr_assert_eq(name_number(v4.name, "Dummy-"), n + 2, "got %s", v4.name);

    cr_assert_eq(ct_thread_start(&t, look_at_self, &v1), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(name_number(v1.name, "Thread-"), n + 3, "got %s", v1.name);
}

Test(thread, main_thread_is_named_MainThread)
{
    ct_thread_t m, m2;
    ct_thread_main(&m);
    ct_thread_main(&m2);
    cr_assert_str_eq(ct_thread_name(&m), "MainThread");
    cr_assert_eq(ct_thread_ident_of(&m), ct_thread_ident_of(&m2));
    cr_assert(ct_thread_is_alive(&m));
    cr_assert_not(ct_thread_is_daemon(&m));
    cr_assert_neq(ct_thread_native_id(&m), 0u);
    cr_assert_eq(ct_thread_detach(&m), CT_EINVAL, "main cannot be detached");
}

Test(thread, names_are_set_from_inside_and_outside_and_reach_the_os)
{
    uint32_t gate = 0;
    struct self_view v = { .gate = &gate };
    ct_thread_t t;
    ct_thread_options_t o = { .name = "named-at-start" };

    cr_assert_eq(ct_thread_start_ex(&t, &o, look_at_self, &v), CT_OK);
    cr_assert_str_eq(ct_thread_name(&t), "named-at-start");
    /* A name read must not overlap a rename of the same thread (see the
     * contract): let the worker finish reading its own first. */
    cr_assert(t_await(&v.looked, CT_SEC(30)));
    cr_assert_str_eq(v.name, "named-at-start");
    cr_assert_eq(ct_thread_set_name(&t, NULL), CT_EINVAL);
    cr_assert_str_eq(ct_thread_name(&t), "named-at-start", "a failed rename changed nothing");
    cr_assert_eq(ct_thread_set_name(&t, "a-rather-long-thread-name"), CT_OK);
    cr_assert_str_eq(ct_thread_name(&t), "a-rather-long-thread-name");
#if defined(__linux__)
    {
        char os[32] = "";
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%llu/comm",
                 (unsigned long long)ct_thread_native_id(&t));
        FILE *fp = fopen(path, "r");
        cr_assert_not_null(fp);
        cr_assert_not_null(fgets(os, sizeof os, fp));
        fclose(fp);
        os[strcspn(os, "\n")] = '\0';
        /* 15 bytes: the kernel's limit. */
        cr_assert_str_eq(os, "a-rather-long-t", "OS name '%s'", os);
    }
#endif
    gate_open(&gate);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    /* Released: the handle reads as an ended thread. */
    cr_assert_str_eq(ct_thread_name(&t), "");
    cr_assert_eq(ct_thread_set_name(&t, "x"), CT_EINVAL);

    /* Renaming oneself, also at a UTF-8 boundary for the OS name. */
    ct_thread_t me;
    cr_assert_eq(ct_thread_current(&me), CT_OK);
    char *saved = strdup(ct_thread_name(&me));
    cr_assert_eq(ct_thread_set_name(&me, "caf\xc3\xa9-\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"), CT_OK);
#if defined(__linux__)
    {
        char os[32];
        cr_assert_eq(pthread_getname_np(pthread_self(), os, sizeof os), 0);
        /* 16 bytes would split the last "é": cut at 14. */
        cr_assert_str_eq(os, "caf\xc3\xa9-\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "OS name '%s'", os);
    }
#endif
#if defined(_WIN32)
    {
        typedef HRESULT (WINAPI *get_fn)(HANDLE, PWSTR *);
        get_fn get = (get_fn)(void (*)(void))GetProcAddress(GetModuleHandleW(L"kernel32.dll"),
                                                            "GetThreadDescription");
        if (get != NULL) {      /* Windows 10 1607+ and Wine */
            PWSTR w = NULL;
            cr_assert(SUCCEEDED(get(GetCurrentThread(), &w)));
            cr_assert(wcscmp(w, L"caf\u00e9-\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9") == 0,
                      "SetThreadDescription was not called");
            LocalFree(w);
        }
    }
#endif
    cr_assert_eq(ct_thread_set_name(&me, saved), CT_OK);
    cr_assert_str_eq(ct_thread_name(&me), saved);
    free(saved);
}

/* ---- current_thread, idents, native ids ------------------------------------------ */

Test(thread, current_thread_inside_a_worker_is_its_handle)
{
    struct self_view v = { 0 };
    ct_thread_t t, copy;

    cr_assert_eq(ct_thread_start(&t, look_at_self, &v), CT_OK);
    copy = t;
    uint64_t native = ct_thread_native_id(&copy);
    cr_assert_eq(ct_thread_join(&copy, CT_FOREVER), CT_OK, "join of a copy");
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK, "join of the original after the copy");
    cr_assert_eq(v.current_rc, CT_OK);
    cr_assert(v.same_record);
    cr_assert_eq(v.ident, ct_thread_ident_of(&t));
    cr_assert_neq(v.ident, ct_thread_ident());
    cr_assert(v.alive_inside);
    cr_assert_eq(v.join_self_rc, CT_EDEADLK, "join of the calling thread");
    cr_assert_neq(v.native_self, 0u);
    cr_assert_eq(v.native_self, v.native_of_current);
    cr_assert_eq(v.native_self, native);
    cr_assert_neq(native, ct_thread_native_id_self());
#if defined(__linux__)
    cr_assert_eq(ct_thread_native_id_self(), (uint64_t)syscall(SYS_gettid));
#elif defined(_WIN32)
    cr_assert_eq(ct_thread_native_id_self(), (uint64_t)GetCurrentThreadId());
#endif
    /* Released handle: ident survives, the rest reads as ended. */
    cr_assert_eq(ct_thread_ident_of(&t), v.ident);
    cr_assert_eq(ct_thread_native_id(&t), 0u);
    cr_assert_not(ct_thread_is_alive(&t));
}

Test(thread, join_of_self_is_EDEADLK_in_every_thread)
{
    ct_thread_t me;
    cr_assert_eq(ct_thread_current(&me), CT_OK);
    cr_assert_eq(ct_thread_join(&me, 0), CT_EDEADLK);
    cr_assert_eq(ct_thread_join(&me, CT_FOREVER), CT_EDEADLK);
    cr_assert_eq(ct_thread_join(&me, -7), CT_EINVAL, "the timeout is checked first");
}

Test(thread, zeroed_handle_is_rejected_or_reads_as_nothing)
{
    ct_thread_t z = CT_THREAD_INIT;
    cr_assert_eq(ct_thread_join(&z, 0), CT_EINVAL);
    cr_assert_eq(ct_thread_join(&z, CT_FOREVER), CT_EINVAL);
    cr_assert_eq(ct_thread_detach(&z), CT_EINVAL);
    cr_assert_eq(ct_thread_set_name(&z, "x"), CT_EINVAL);
    cr_assert_not(ct_thread_is_alive(&z));
    cr_assert_not(ct_thread_is_daemon(&z));
    cr_assert_str_eq(ct_thread_name(&z), "");
    cr_assert_eq(ct_thread_ident_of(&z), 0u);
    cr_assert_eq(ct_thread_native_id(&z), 0u);
}

static void foreign_register(void *p)
{
    ct_thread_t *out = p;
    cr_assert_eq(ct_thread_current(out), CT_OK);
}

struct foreign_probe {
    ct_thread_t me;
    unsigned count_inside;
    uint32_t *gate;
    atomic_int ready;
};
static void foreign_probe_main(void *p)
{
    struct foreign_probe *fp = p;
    (void)ct_thread_current(&fp->me);
    fp->count_inside = ct_thread_active_count();
    atomic_store(&fp->ready, 1);
    gate_wait(fp->gate);
}

Test(thread, foreign_thread_gets_a_dummy_record_freed_at_its_exit)
{
    uint32_t gate = 0;
    struct foreign_probe fp = { .gate = &gate };
    struct foreign_call c = { foreign_probe_main, &fp };
    unsigned base = ct_thread_active_count();
    foreign_t f;

    foreign_start(&f, &c);
    /* It counts once registered. */
    cr_assert(t_await(&fp.ready, CT_SEC(30)));
    cr_assert_eq(ct_thread_active_count(), base + 1);
    cr_assert_eq(fp.count_inside, base + 1);
    ct_thread_t h = fp.me;
    cr_assert(ct_thread_is_alive(&h));
    cr_assert(strncmp(ct_thread_name(&h), "Dummy-", 6) == 0, "%s", ct_thread_name(&h));
    cr_assert_eq(ct_thread_detach(&h), CT_EINVAL, "only started threads are detached");
    cr_assert_eq(ct_thread_join(&h, CT_MS(1)), CT_ETIMEDOUT, "joining a foreign thread waits for it");
    gate_open(&gate);
    cr_assert_eq(ct_thread_join(&h, CT_SEC(60)), CT_OK, "join waits for its exit");
    foreign_join(&f);
    cr_assert_eq(ct_thread_active_count(), base);
    cr_assert_not(ct_thread_is_alive(&h));
    cr_assert_str_eq(ct_thread_name(&h), "");
}

Test(thread, foreign_threads_by_the_hundred_thousand_reuse_records, .timeout = 300)
{
#if defined(_WIN32)
    enum { N = 3000 };      /* thread creation under Wine is slow */
#else
    enum { N = 100000 / STRESS_SCALE };
#endif
    unsigned base = ct_thread_active_count();
    void *seen[8];
    int nseen = 0;

    for (int i = 0; i < N; i++) {
        ct_thread_t h;
        struct foreign_call c = { foreign_register, &h };
        foreign_t f;
        foreign_start(&f, &c);
        foreign_join(&f);
        bool known = false;
        for (int k = 0; k < nseen; k++)
            known |= seen[k] == h.rec;
        if (!known) {
            cr_assert_lt(nseen, 8, "record %d is new: records are not reused", i);
            seen[nseen++] = h.rec;
        }
        cr_assert_not(ct_thread_is_alive(&h));
    }
    cr_assert_eq(ct_thread_active_count(), base);
}

/* ---- active_count, enumerate ------------------------------------------------------ */

Test(thread, active_count_is_exact_while_threads_start_and_end)
{
    enum { N = 8 };
    uint32_t gates[N] = { 0 };
    ct_thread_t t[N];
    unsigned base = ct_thread_active_count();

    cr_assert_geq(base, 1u, "the main thread counts");
    for (int i = 0; i < N; i++) {
        cr_assert_eq(ct_thread_start(&t[i], wait_on_gate, &gates[i]), CT_OK);
        cr_assert_eq(ct_thread_active_count(), base + i + 1);
        cr_assert(ct_thread_is_alive(&t[i]));
    }
    for (int i = 0; i < N; i++) {
        gate_open(&gates[i]);
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
        cr_assert_eq(ct_thread_active_count(), base + N - i - 1);
        cr_assert_not(ct_thread_is_alive(&t[i]));
    }
}

struct names_seen { int n; char names[16][32]; };
static void collect(const ct_thread_t *t, void *p)
{
    struct names_seen *s = p;
    if (s->n < 16)
        snprintf(s->names[s->n], 32, "%s", ct_thread_name(t));
    s->n++;
}

Test(thread, enumerate_lists_every_live_thread)
{
    uint32_t gate = 0;
    const char *names[3] = { "enum-a", "enum-b", "enum-c" };
    ct_thread_t t[3];
    struct names_seen s = { 0 };

    for (int i = 0; i < 3; i++) {
        ct_thread_options_t o = { .name = names[i] };
        cr_assert_eq(ct_thread_start_ex(&t[i], &o, wait_on_gate, &gate), CT_OK);
    }
    int n = ct_thread_enumerate(collect, &s);
    cr_assert_eq(n, s.n);
    cr_assert_eq((unsigned)n, ct_thread_active_count());
    for (int i = 0; i < 3; i++) {
        bool found = false;
        for (int k = 0; k < s.n && k < 16; k++)
            found |= strcmp(s.names[k], names[i]) == 0;
        cr_assert(found, "%s not enumerated", names[i]);
    }
    ct_thread_t me;
    (void)ct_thread_current(&me);
    bool found_me = false;
    for (int k = 0; k < s.n && k < 16; k++)
        found_me |= strcmp(s.names[k], ct_thread_name(&me)) == 0;
    cr_assert(found_me, "the calling thread is listed");
    gate_open(&gate);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ct_thread_join(&t[i], CT_FOREVER), CT_OK);
}

/* ---- options ---------------------------------------------------------------------- */

#if defined(__linux__)
static void record_stack(void *p)
{
    pthread_attr_t a;
    size_t sz = 0;
    pthread_getattr_np(pthread_self(), &a);
    pthread_attr_getstacksize(&a, &sz);
    pthread_attr_destroy(&a);
    *(size_t *)p = sz;
}
#endif

Test(thread, stack_size_option)
{
    unsigned base = ct_thread_active_count();
    ct_thread_t t = CT_THREAD_INIT, before;
    ct_thread_options_t small = { .stack_size = 1000 };

    before = t;
    cr_assert_eq(ct_thread_start_ex(&t, &small, wait_on_gate, NULL), CT_EINVAL);
    cr_assert_eq(memcmp(&t, &before, sizeof t), 0, "a failed start leaves the handle as it was");
    cr_assert_eq(ct_thread_active_count(), base, "nothing started");
    small.stack_size = 32767;
    cr_assert_eq(ct_thread_start_ex(&t, &small, wait_on_gate, NULL), CT_EINVAL);

    size_t got = 0;
    ct_thread_options_t big = { .stack_size = 1024 * 1024 + 123 };
#if defined(__linux__)
    cr_assert_eq(ct_thread_start_ex(&t, &big, record_stack, &got), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_geq(got, big.stack_size, "stack of %zu bytes", got);
    cr_assert_lt(got, big.stack_size + 1024 * 1024);
#else
    uint32_t open = 1;
    cr_assert_eq(ct_thread_start_ex(&t, &big, wait_on_gate, &open), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    (void)got;
#endif
}

/* ---- join from several threads, detach ------------------------------------------- */

struct joiner { ct_thread_t target; int64_t timeout; int rc; atomic_int started; };
static void join_it(void *p)
{
    struct joiner *j = p;
    atomic_store(&j->started, 1);
    j->rc = ct_thread_join(&j->target, j->timeout);
}

Test(thread, join_from_two_threads_at_once_and_a_timed_one)
{
    uint32_t gate = 0;
    ct_thread_t t, jt[3];
    struct joiner j[3];

    cr_assert_eq(ct_thread_start(&t, wait_on_gate, &gate), CT_OK);
    for (int i = 0; i < 3; i++) {
        j[i] = (struct joiner){ .target = t, .timeout = i == 2 ? CT_MS(20) : CT_FOREVER };
        cr_assert_eq(ct_thread_start(&jt[i], join_it, &j[i]), CT_OK);
    }
    cr_assert_eq(ct_thread_join(&jt[2], CT_FOREVER), CT_OK);
    cr_assert_eq(j[2].rc, CT_ETIMEDOUT, "the timed joiner timed out");
    cr_assert(t_await(&j[0].started, CT_SEC(30)) && t_await(&j[1].started, CT_SEC(30)));
    cr_assert(ct_thread_is_alive(&t));
    gate_open(&gate);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(ct_thread_join(&jt[i], CT_FOREVER), CT_OK);
        cr_assert_eq(j[i].rc, CT_OK, "joiner %d", i);
    }
    cr_assert_eq(ct_thread_join(&t, 0), CT_OK, "and once more from the creator");
}

Test(thread, detach_releases_the_handle_and_join_still_works)
{
    uint32_t gate = 0;
    ct_thread_t t, copy;

    cr_assert_eq(ct_thread_start(&t, wait_on_gate, &gate), CT_OK);
    copy = t;
    cr_assert_eq(ct_thread_detach(&t), CT_OK);
    cr_assert_eq(ct_thread_detach(&copy), CT_OK, "idempotent");
    cr_assert(ct_thread_is_alive(&copy), "detaching does not stop it");
    cr_assert_eq(ct_thread_join(&copy, CT_MS(1)), CT_ETIMEDOUT);
    gate_open(&gate);
    cr_assert_eq(ct_thread_join(&copy, CT_SEC(60)), CT_OK, "a detached thread can be waited for");
    cr_assert_not(ct_thread_is_alive(&t));
    cr_assert_eq(ct_thread_detach(&t), CT_OK);

    /* Detach after the thread ended (a zombie), and detach after join. */
    uint32_t open = 1;
    cr_assert_eq(ct_thread_start(&t, wait_on_gate, &open), CT_OK);
    while (ct_thread_is_alive(&t))
        ct_sleep(CT_US(50));
    cr_assert_eq(ct_thread_detach(&t), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_SEC(60)), CT_OK);
    cr_assert_eq(ct_thread_start(&t, wait_on_gate, &open), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(ct_thread_detach(&t), CT_OK, "after join: nothing to do");
}

static void detach_self(void *p)
{
    ct_thread_t me;
    (void)ct_thread_current(&me);
    *(int *)p = ct_thread_detach(&me);
}

Test(thread, a_thread_may_detach_itself)
{
    int rc = -100;
    ct_thread_t t;
    cr_assert_eq(ct_thread_start(&t, detach_self, &rc), CT_OK);
    cr_assert_eq(ct_thread_join(&t, CT_SEC(60)), CT_OK);
    cr_assert_eq(rc, CT_OK);
}

/* ---- daemons and shutdown --------------------------------------------------------- */

static void try_shutdown(void *p) { *(int *)p = ct_threading_shutdown(0); }

Test(thread, shutdown_waits_for_non_daemon_threads_only)
{
    uint32_t worker_gate = 0, daemon_gate = 0;
    ct_thread_t worker, daemon;
    ct_thread_options_t d = { .daemon = true };

    cr_assert_eq(ct_threading_shutdown(-5), CT_EINVAL);
    cr_assert_eq(ct_threading_shutdown(CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
    cr_assert_eq(ct_threading_shutdown(0), CT_OK, "nothing to wait for");
    cr_assert_eq(ct_thread_start_ex(&daemon, &d, wait_on_gate, &daemon_gate), CT_OK);
    cr_assert(ct_thread_is_daemon(&daemon));
    cr_assert_eq(ct_threading_shutdown(CT_MS(10)), CT_OK, "daemons are not waited for");
    cr_assert_eq(ct_thread_start(&worker, wait_on_gate, &worker_gate), CT_OK);
    cr_assert_not(ct_thread_is_daemon(&worker));
    int64_t t0 = t_now();
    cr_assert_eq(ct_threading_shutdown(CT_MS(30)), CT_ETIMEDOUT);
    cr_assert_geq(t_now() - t0, CT_MS(30));

    int rc = -100;
    ct_thread_t self_waiter;
    cr_assert_eq(ct_thread_start(&self_waiter, try_shutdown, &rc), CT_OK);
    cr_assert_eq(ct_thread_join(&self_waiter, CT_FOREVER), CT_OK);
    cr_assert_eq(rc, CT_EDEADLK, "a non-daemon thread would wait for itself");

    gate_open(&worker_gate);
    cr_assert_eq(ct_threading_shutdown(CT_SEC(60)), CT_OK);
    cr_assert_not(ct_thread_is_alive(&worker));
    cr_assert(ct_thread_is_alive(&daemon), "the daemon still runs");
    cr_assert_eq(ct_thread_join(&worker, CT_FOREVER), CT_OK);
    gate_open(&daemon_gate);
    cr_assert_eq(ct_thread_join(&daemon, CT_FOREVER), CT_OK);
}

/* ---- join honours its timeout during the thread's exit destructors ---------------- */

static atomic_int slow_dtor_done;
static void slow_dtor(void *v)
{
    (void)v;
    ct_sleep(CT_MS(1500));
    atomic_store(&slow_dtor_done, 1);
}
static void set_local(void *p) { ct_local_set(p, (void *)1); }

Test(thread, join_timeout_holds_while_a_slow_local_destructor_runs, .timeout = 120)
{
    ct_local_t k;
    ct_thread_t t;

    atomic_store(&slow_dtor_done, 0);
    cr_assert_eq(ct_local_init(&k, NULL, slow_dtor, NULL), CT_OK);
    cr_assert_eq(ct_thread_start(&t, set_local, &k), CT_OK);
    while (ct_thread_is_alive(&t))       /* fn returned: the destructor runs now */
        ct_sleep(CT_US(100));
    int64_t t0 = t_now();
    cr_assert_eq(ct_thread_join(&t, CT_MS(100)), CT_ETIMEDOUT);
    int64_t took = t_now() - t0;
    cr_assert_geq(took, CT_MS(100));
    cr_assert_eq(atomic_load(&slow_dtor_done), 0, "join returned before the destructor ended");
    cr_assert_eq(ct_thread_join(&t, 0), CT_ETIMEDOUT);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
    cr_assert_eq(atomic_load(&slow_dtor_done), 1, "CT_OK means the exit destructors ran");
    ct_local_destroy(&k);
}

/* ---- fork: the child's registry holds its one thread ------------------------------ */
#if !defined(_WIN32)
#include <sys/wait.h>

static int child_checks(const ct_thread_t *other)
{
    ct_thread_t me, m;
    if (ct_thread_active_count() != 1)
        return 10;
    if (ct_thread_is_alive(other) || ct_thread_join(other, 0) != CT_OK)
        return 11;
    if (ct_thread_current(&me) != CT_OK)
        return 12;
    ct_thread_main(&m);
    if (ct_thread_ident_of(&m) != ct_thread_ident_of(&me))
        return 13;
    if (ct_thread_native_id(&me) != (uint64_t)getpid())
        return 14;
    if (ct_threading_shutdown(0) != CT_OK)
        return 15;
#if !defined(CT__TSAN)      /* TSan kills a forked child that starts threads */
    ct_thread_t t;
    uint32_t open = 1;
    if (ct_thread_start(&t, wait_on_gate, &open) != CT_OK || ct_thread_join(&t, CT_SEC(30)) != CT_OK)
        return 16;
#endif
    return 0;
}

Test(thread, fork_child_sees_only_its_own_thread, .timeout = 60)
{
    uint32_t gate = 0;
    ct_thread_t t;
    cr_assert_eq(ct_thread_start(&t, wait_on_gate, &gate), CT_OK);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(child_checks(&t));
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "child crashed");
    cr_assert_eq(WEXITSTATUS(status), 0, "child check %d failed", WEXITSTATUS(status));
    cr_assert(ct_thread_is_alive(&t), "the parent's thread is untouched");
    gate_open(&gate);
    cr_assert_eq(ct_thread_join(&t, CT_FOREVER), CT_OK);
}
#endif
