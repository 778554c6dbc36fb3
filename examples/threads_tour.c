/* threads_tour — the first sections of a Python threading tour, in C.
 *
 * Python:
 *     def worker(n):
 *         print(threading.current_thread().name, "working on", n)
 *         time.sleep(0.05)
 *
 *     threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
 *     for t in threads: t.start()
 *     print("active:", threading.active_count())       # 3 workers + main = 4
 *     for t in threads: t.join()
 *     print("active:", threading.active_count())       # 1
 *     threading.Thread(target=forever, name="heartbeat", daemon=True).start()
 *     # the program does not wait for the daemon at exit
 *
 * Built on: ct_thread_start_ex (names, daemon), ct_thread_current,
 * ct_thread_name, ct_thread_active_count, ct_thread_enumerate, ct_once,
 * ct_sleep, ct_now_ns, ct_event_t, ct_threading_shutdown.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>

#include <cthreading.h>

static ct_lock_t print_lock = CT_LOCK_INIT;   /* one line at a time */
static ct_event_t go = CT_EVENT_INIT;          /* workers run once counted */
static ct_once_t banner_once = CT_ONCE_INIT;

static int print_banner(void *arg)
{
    (void)arg;
    printf("-- first worker to start prints this, once --\n");
    return 0;
}

static void worker(void *arg)
{
    int n = (int)(intptr_t)arg;
    ct_thread_t me;

    (void)ct_once(&banner_once, print_banner, NULL);
    (void)ct_thread_current(&me);
    ct_lock_acquire(&print_lock);
    printf("%s working on %d\n", ct_thread_name(&me), n);
    ct_lock_release(&print_lock);
    ct_event_wait(&go);
    ct_sleep(CT_MS(50));                       /* time.sleep(0.05) */
}

static ct_event_t stop_heartbeat = CT_EVENT_INIT;

static void heartbeat(void *arg)
{
    int *beats = arg;
    while (ct_event_wait_timed(&stop_heartbeat, CT_MS(10)) == CT_ETIMEDOUT)
        (*beats)++;                             /* nobody waits for us at exit */
}

static void list_thread(const ct_thread_t *t, void *arg)
{
    (void)arg;
    printf("  %-12s alive=%d daemon=%d\n", ct_thread_name(t), ct_thread_is_alive(t),
           ct_thread_is_daemon(t));
}

int main(void)
{
    ct_thread_t threads[3], me, hb;
    static int beats;
    int64_t t0 = ct_now_ns();

    ct_thread_current(&me);
    printf("main thread: %s\n", ct_thread_name(&me));

    for (int i = 0; i < 3; i++)
        if (ct_thread_start(&threads[i], worker, (void *)(intptr_t)i) != CT_OK)
            return 1;
    unsigned during = ct_thread_active_count();
    printf("active: %u\n", during);             /* 3 workers + main = 4 */
    ct_thread_enumerate(list_thread, NULL);
    ct_event_set(&go);
    for (int i = 0; i < 3; i++)
        ct_thread_join(&threads[i], CT_FOREVER);
    unsigned after = ct_thread_active_count();
    printf("active: %u\n", after);              /* 1 */
    printf("3 workers sleeping 50 ms each took %.0f ms in parallel\n",
           (double)(ct_now_ns() - t0) / 1e6);

    /* A named daemon thread: ct_threading_shutdown (what CPython does at
     * exit) waits for the non-daemon threads only. */
    ct_thread_options_t opts = { .name = "heartbeat", .daemon = true };
    if (ct_thread_start_ex(&hb, &opts, heartbeat, &beats) != CT_OK)
        return 1;
    ct_thread_detach(&hb);                      /* we never join it */
    int rc = ct_threading_shutdown(CT_SEC(5));
    printf("shutdown: %s (the daemon '%s' still runs: %s)\n", ct_strerror(rc),
           ct_thread_name(&hb), ct_thread_is_alive(&hb) ? "yes" : "no");
    if (during != 4 || after != 1 || rc != CT_OK)
        return 1;
    return 0;
}
