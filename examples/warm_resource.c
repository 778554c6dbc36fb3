/* warm_resource: an expensive resource started on demand, owned by one
 * thread, and shut down by a Timer after it has been idle for a while.
 *
 * The resource (simulated: it takes START_NS to start) may only be touched by
 * its owner thread — like a single-threaded COM object or a GPU context.
 * Other threads send requests to the owner and wait for the reply.  The first
 * request of a burst starts the resource; the rest of the burst reuses it.
 * After each call the owner makes sure an idle timer is armed; when it fires
 * it only posts an "idle check" message: the owner itself decides whether the
 * resource has been idle for IDLE_NS and shuts it down, or re-arms the timer
 * for the time that remains.  The next burst starts the resource again.
 *
 * Built on: ct_thread_t, ct_lock_t, ct_wait / ct_wake_one (the message
 * queue), ct_timer_t.
 *
 * SPDX-License-Identifier: MIT
 */
// posix-only: uses timespec_get(TIME_UTC), which mingw's msvcrt lacks
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include <cthreading.h>

#define START_NS CT_MS(200)      /* how long the resource takes to start */
#define IDLE_NS  CT_MS(800)      /* shut it down after this long without calls */
enum { BURSTS = 2, CLIENTS = 8, CALLS_PER_CLIENT = 10 };

/* ---- a one-word "done" flag (release/acquire, sleeps in ct_wait) ---------- */
static void flag_set(uint32_t *w)
{
    atomic_store_explicit((_Atomic uint32_t *)w, 1, memory_order_release);
    ct_wake_all(w);
}

static void flag_wait(uint32_t *w)
{
    while (atomic_load_explicit((_Atomic uint32_t *)w, memory_order_acquire) == 0)
        ct_wait(w, 0, CT_FOREVER);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);        /* fine for an example's idle check */
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- messages to the owner ----------------------------------------------------- */
enum kind { CALL, IDLE_CHECK, QUIT };

struct message {
    enum kind kind;
    int input, output;          /* CALL: argument and result */
    uint32_t done;              /* set by the owner when handled */
    struct message *next;
};

struct owner {
    ct_lock_t lock;             /* guards the queue */
    struct message *head, *tail;
    uint32_t posted;            /* bumped per message; the owner sleeps on it */
    ct_timer_t idle_timer;
    struct message idle_msg;    /* the timer's message, queued at most once */
    bool idle_msg_queued;
    /* Read by main, written by the owner thread only. */
    _Atomic int starts, shutdowns;
    uint32_t shutdown_word;     /* = shutdowns, for main to sleep on */
    /* Owner-thread-only state: the resource. */
    bool running;
    int64_t last_call;
};

static void post(struct owner *o, struct message *m)
{
    ct_lock_acquire(&o->lock);
    m->next = NULL;
    if (o->tail)
        o->tail->next = m;
    else
        o->head = m;
    o->tail = m;
    atomic_fetch_add((_Atomic uint32_t *)&o->posted, 1);
    ct_lock_release(&o->lock);
    ct_wake_one(&o->posted);
}

static struct message *take(struct owner *o)
{
    for (;;) {
        ct_lock_acquire(&o->lock);
        struct message *m = o->head;
        uint32_t seen = atomic_load((_Atomic uint32_t *)&o->posted);
        if (m != NULL) {
            o->head = m->next;
            if (o->head == NULL)
                o->tail = NULL;
            if (m == &o->idle_msg)
                o->idle_msg_queued = false;
        }
        ct_lock_release(&o->lock);
        if (m != NULL)
            return m;
        ct_wait(&o->posted, seen, CT_FOREVER);
    }
}

/* The timer callback: runs on a timer worker thread, so it must not touch
 * the resource; it only asks the owner to check. */
static void on_idle_timer(void *arg)
{
    struct owner *o = arg;
    bool queue;
    ct_lock_acquire(&o->lock);
    queue = !o->idle_msg_queued;
    o->idle_msg_queued = true;
    ct_lock_release(&o->lock);
    if (queue)
        post(o, &o->idle_msg);
}

/* ---- the owner thread: the only one that touches the resource ---------- */
static void resource_start(struct owner *o)
{
    ct_sleep(START_NS);                            /* simulate a slow start */
    o->running = true;
    atomic_fetch_add(&o->starts, 1);
    printf("  [owner] resource started\n");
}

static void resource_stop(struct owner *o)
{
    o->running = false;
    atomic_fetch_add(&o->shutdowns, 1);
    atomic_fetch_add((_Atomic uint32_t *)&o->shutdown_word, 1);
    ct_wake_all(&o->shutdown_word);
}

static void owner_main(void *arg)
{
    struct owner *o = arg;
    for (;;) {
        struct message *m = take(o);
        switch (m->kind) {
        case CALL:
            if (!o->running)
                resource_start(o);
            m->output = m->input * m->input;       /* "use" the resource */
            o->last_call = now_ns();
            /* Arm the idle timer if it is not armed (CT_EPERM: it is). */
            (void)ct_timer_start(&o->idle_timer, IDLE_NS, on_idle_timer, o);
            flag_set(&m->done);
            break;
        case IDLE_CHECK: {
            int64_t idle = now_ns() - o->last_call;
            if (!o->running)
                break;
            if (idle >= IDLE_NS) {
                printf("  [owner] idle for %.2f s: resource shut down\n", (double)idle / 1e9);
                resource_stop(o);
            } else {
                (void)ct_timer_start(&o->idle_timer, IDLE_NS - idle, on_idle_timer, o);
            }
            break;
        }
        case QUIT:
            if (o->running)
                resource_stop(o);
            flag_set(&m->done);
            return;
        }
    }
}

/* ---- clients ------------------------------------------------------------------------ */
struct client { struct owner *o; int id; int errors; };

static void client_main(void *arg)
{
    struct client *c = arg;
    for (int i = 0; i < CALLS_PER_CLIENT; i++) {
        struct message m = { .kind = CALL, .input = c->id * 100 + i };
        post(c->o, &m);
        flag_wait(&m.done);
        if (m.output != m.input * m.input)
            c->errors++;
    }
}

int main(void)
{
    static struct owner o;
    ct_thread_t owner_thread, threads[CLIENTS];
    struct client clients[CLIENTS];
    int failures = 0;

    o.idle_msg.kind = IDLE_CHECK;
    if (ct_thread_start(&owner_thread, owner_main, &o) != CT_OK)
        return 1;
    for (int burst = 1; burst <= BURSTS; burst++) {
        int starts_before = atomic_load(&o.starts);
        for (int i = 0; i < CLIENTS; i++) {
            clients[i] = (struct client){ &o, i, 0 };
            if (ct_thread_start(&threads[i], client_main, &clients[i]) != CT_OK)
                return 1;
        }
        for (int i = 0; i < CLIENTS; i++) {
            ct_thread_join(&threads[i], CT_FOREVER);
            failures += clients[i].errors;
        }
        int starts = atomic_load(&o.starts) - starts_before;
        printf("burst %d: %d calls from %d threads needed %d start(s) of the resource\n",
               burst, CLIENTS * CALLS_PER_CLIENT, CLIENTS, starts);
        if (starts != 1)
            failures++;
        /* Wait (with a generous limit) until the idle timer shut it down. */
        int64_t t0 = now_ns();
        uint32_t seen;
        while ((seen = atomic_load((_Atomic uint32_t *)&o.shutdown_word)) < (uint32_t)burst &&
               now_ns() - t0 < CT_SEC(30))
            ct_wait(&o.shutdown_word, seen, CT_SEC(1));
        if (atomic_load(&o.shutdowns) != burst) {
            printf("the idle timer did not shut the resource down\n");
            failures++;
        }
    }

    struct message quit = { .kind = QUIT };
    post(&o, &quit);
    flag_wait(&quit.done);
    ct_thread_join(&owner_thread, CT_FOREVER);
    /* The timer may still be armed or posting: stop it before `o` goes away. */
    ct_timer_cancel(&o.idle_timer);
    ct_timer_join(&o.idle_timer, CT_FOREVER);
    printf("%d starts, %d shutdowns, %d failures\n", atomic_load(&o.starts),
           atomic_load(&o.shutdowns), failures);
    return failures == 0 ? 0 : 1;
}
