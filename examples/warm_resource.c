/* warm_resource: an expensive, thread-affine resource kept warm through a
 * burst of calls and shut down when idle — on an executor with one worker.
 *
 * The scenario: a resource (a COM object, a GPU context, ...) takes a long
 * time to start (START_NS here, 3 s in real life) and may only be used by the
 * thread that created it.  Requests arrive from many threads in bursts, then
 * nothing for hours.  In Python: ThreadPoolExecutor(max_workers=1,
 * initializer=start) — but its worker lives for ever, so the resource never
 * shuts down.  Here the executor's worker runs an initializer that starts the
 * resource on the worker thread, serves every call on that same thread, and
 * after IDLE_NS without work runs the finalizer (on that thread again) and
 * exits; the next burst's first submit starts a new worker and resource.
 *
 * Clients submit calls and wait on their own futures (caller-owned: nothing
 * is allocated per call).  The program prints each burst's owner thread,
 * starts, shutdowns and calls served, and checks that every call ran on the
 * resource's owner thread with the resource running.
 *
 * Built on: ct_executor_t, ct_future_t, ct_thread_t, ct_event_t, ct_sem_t.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdatomic.h>
#include <stdio.h>

#include <cthreading.h>

#define START_NS CT_MS(200)      /* how long the resource takes to start */
#define CALL_NS  CT_MS(2)        /* how long one call takes */
#define IDLE_NS  CT_MS(500)      /* shut it down after this long without calls */
enum { BURSTS = 3, CLIENTS = 8, CALLS_PER_CLIENT = 1 };   /* bursts of 8 requests */

/* A pause: wait on an event nobody sets. */
static void pause_ns(int64_t ns)
{
    static ct_event_t never = CT_EVENT_INIT;
    (void)ct_event_wait_timed(&never, ns);
}

/* ---- the resource: touched only by its owner thread -------------------------------- */
struct resource {
    uint64_t owner;              /* ident of the thread that started it; 0 = stopped */
    int calls_served;            /* since it started */
    /* Read by main: */
    atomic_int starts, shutdowns, calls, wrong_thread;
    atomic_ullong last_owner;
    ct_sem_t stopped;            /* released by every shutdown */
};

static void resource_start(void *arg)             /* the executor's initializer */
{
    struct resource *r = arg;
    pause_ns(START_NS);                            /* the slow start */
    r->owner = ct_thread_ident();
    r->calls_served = 0;
    atomic_store(&r->last_owner, r->owner);
    atomic_fetch_add(&r->starts, 1);
    printf("  [owner %llu] resource started\n", (unsigned long long)r->owner);
}

static void resource_stop(void *arg)              /* the executor's finalizer */
{
    struct resource *r = arg;
    if (ct_thread_ident() != r->owner)
        atomic_fetch_add(&r->wrong_thread, 1);
    printf("  [owner %llu] idle: resource shut down after %d calls\n",
           (unsigned long long)r->owner, r->calls_served);
    r->owner = 0;
    atomic_fetch_add(&r->shutdowns, 1);
    (void)ct_sem_release(&r->stopped, 1);
}

static struct resource res;

/* One call, run by the executor on the owner thread. */
static void *resource_call(void *arg)
{
    intptr_t x = (intptr_t)arg;
    if (res.owner == 0 || ct_thread_ident() != res.owner)
        atomic_fetch_add(&res.wrong_thread, 1);
    pause_ns(CALL_NS);
    res.calls_served++;
    atomic_fetch_add(&res.calls, 1);
    return (void *)(x * x);
}

/* ---- clients: any thread of the "web server" ----------------------------------------- */
struct client { ct_executor_t *ex; int id, errors; };

static void client_main(void *arg)
{
    struct client *c = arg;
    for (int i = 0; i < CALLS_PER_CLIENT; i++) {
        ct_future_t f = CT_FUTURE_INIT;
        intptr_t x = c->id * 100 + i;
        void *out;
        if (ct_executor_submit(c->ex, &f, resource_call, (void *)x) != CT_OK ||
            ct_future_result(&f, &out, CT_SEC(60)) != CT_OK || (intptr_t)out != x * x)
            c->errors++;
    }
}

int main(void)
{
    ct_executor_t ex;
    ct_executor_options_t opts = {
        .max_workers = 1, .idle_timeout_ns = IDLE_NS,
        .initializer = resource_start, .finalizer = resource_stop, .init_arg = &res,
        .thread_name_prefix = "resource",
    };
    ct_thread_t threads[CLIENTS];
    struct client clients[CLIENTS];
    int failures = 0;

    (void)ct_sem_init(&res.stopped, 0);
    if (ct_executor_init(&ex, &opts) != CT_OK)
        return 1;
    for (int burst = 1; burst <= BURSTS; burst++) {
        int starts_before = atomic_load(&res.starts), calls_before = atomic_load(&res.calls);
        for (int i = 0; i < CLIENTS; i++) {
            clients[i] = (struct client){ &ex, i, 0 };
            if (ct_thread_start(&threads[i], client_main, &clients[i]) != CT_OK)
                return 1;
        }
        for (int i = 0; i < CLIENTS; i++) {
            (void)ct_thread_join(&threads[i], CT_FOREVER);
            failures += clients[i].errors;
        }
        int starts = atomic_load(&res.starts) - starts_before;
        printf("burst %d: %d calls from %d threads served by owner thread %llu; "
               "%d start(s) of the resource\n", burst, atomic_load(&res.calls) - calls_before,
               CLIENTS, (unsigned long long)atomic_load(&res.last_owner), starts);
        if (starts != 1)
            failures++;
        /* Nothing more to do: the idle worker shuts the resource down. */
        if (ct_sem_acquire_timed(&res.stopped, CT_SEC(30)) != CT_OK) {
            printf("the idle resource was not shut down\n");
            failures++;
        }
        pause_ns(CT_MS(50));     /* "then nothing for hours": the worker exits */
    }
    (void)ct_executor_shutdown(&ex, true, false);
    if (ct_executor_destroy(&ex) != CT_OK)
        failures++;
    if (atomic_load(&res.wrong_thread) != 0) {
        printf("%d calls ran off the owner thread\n", atomic_load(&res.wrong_thread));
        failures++;
    }
    if (atomic_load(&res.shutdowns) != atomic_load(&res.starts))
        failures++;
    printf("%d starts, %d shutdowns, %d calls served, %d failures\n", atomic_load(&res.starts),
           atomic_load(&res.shutdowns), atomic_load(&res.calls), failures);
    return failures == 0 ? 0 : 1;
}
