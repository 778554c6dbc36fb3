/* bounded_queue: producers and consumers sharing a fixed-size queue, the
 * classic use of Condition (Python's queue.Queue is built the same way).
 *
 * Two conditions share one Lock: producers wait on `not_full`, consumers on
 * `not_empty`.  Each producer puts the numbers 1..ITEMS; the consumers add up
 * what they take.  The program checks the total and exits 0 when it is right.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <cthreading.h>

#define SLOTS 8
#define PRODUCERS 3
#define CONSUMERS 3
#define ITEMS 20000L

struct queue {
    ct_lock_t lock;
    ct_cond_t not_full, not_empty;
    long slot[SLOTS];
    int head, count;
    int producers_left;
};

static struct queue q;
static long taken[CONSUMERS], sums[CONSUMERS];

/* Puts one item, waiting while the queue is full. */
static void put(long item)
{
    ct_cond_acquire(&q.not_full);
    while (q.count == SLOTS)
        ct_cond_wait(&q.not_full);
    q.slot[(q.head + q.count) % SLOTS] = item;
    q.count++;
    ct_cond_notify(&q.not_empty, 1);
    ct_cond_release(&q.not_full);
}

/* Takes one item into *item; returns 0 once the queue is empty and every
 * producer has finished. */
static int get(long *item)
{
    int got = 0;
    ct_cond_acquire(&q.not_empty);
    while (q.count == 0 && q.producers_left > 0)
        ct_cond_wait(&q.not_empty);
    if (q.count > 0) {
        *item = q.slot[q.head];
        q.head = (q.head + 1) % SLOTS;
        q.count--;
        ct_cond_notify(&q.not_full, 1);
        got = 1;
    }
    ct_cond_release(&q.not_empty);
    return got;
}

static void producer(void *arg)
{
    (void)arg;
    for (long i = 1; i <= ITEMS; i++)
        put(i);
    ct_cond_acquire(&q.not_empty);
    if (--q.producers_left == 0)
        ct_cond_notify_all(&q.not_empty);   /* wake consumers to see the end */
    ct_cond_release(&q.not_empty);
}

static void consumer(void *arg)
{
    int me = (int)(long)arg;
    long item;
    while (get(&item)) {
        sums[me] += item;
        taken[me]++;
    }
}

int main(void)
{
    ct_thread_t t[PRODUCERS + CONSUMERS];
    long total = 0, count = 0;
    const long expected = PRODUCERS * (ITEMS * (ITEMS + 1) / 2);

    ct_cond_init(&q.not_full, &q.lock);
    ct_cond_init(&q.not_empty, &q.lock);
    q.producers_left = PRODUCERS;
    for (long i = 0; i < CONSUMERS; i++)
        if (ct_thread_start(&t[i], consumer, (void *)i) != CT_OK)
            return 1;
    for (int i = 0; i < PRODUCERS; i++)
        if (ct_thread_start(&t[CONSUMERS + i], producer, NULL) != CT_OK)
            return 1;
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        ct_thread_join(&t[i], CT_FOREVER);

    for (int i = 0; i < CONSUMERS; i++) {
        printf("consumer %d took %ld items\n", i, taken[i]);
        total += sums[i];
        count += taken[i];
    }
    printf("%ld items, sum %ld (expected %ld): %s\n", count, total, expected,
           total == expected ? "ok" : "WRONG");
    return total == expected && count == PRODUCERS * ITEMS ? 0 : 1;
}
