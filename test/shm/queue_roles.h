/* The cross-process roles of the ShmQueue tests (test/test_shm_queue.c and
 * the peer program test/shm/queue_peer.c): the layout of the region and the
 * producer and consumer loops, with their checks.
 *
 * Region: a struct qarena at the base (a seen-count per item, failure and
 * arrival counters), then the queue at QARENA_QUEUE_OFF.  Every item names
 * its producer and sequence number and carries a payload derived from both
 * with a checksum, so a consumer detects a corrupted, duplicated or
 * reordered item; the parent detects a lost one from the seen-counts.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_TEST_SHM_QUEUE_ROLES_H
#define CT_TEST_SHM_QUEUE_ROLES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <cthreading.h>

#define QARENA_PRODUCERS 8
#define QARENA_ITEMS 2048      /* per producer, at most */
#define QARENA_CAPACITY 8      /* small: producers block on full, consumers on empty */
#define QARENA_WAIT CT_SEC(60) /* every put and get: a hang fails instead */
/* A call that took this long was not woken (a lost wake-up that the final
 * re-check after its timeout hid): a failure. */
#define QARENA_SLOW CT_SEC(20)

struct qitem {
    uint32_t producer, seq;
    unsigned char payload[48];
    uint32_t sum;
};

struct qarena {
    _Atomic unsigned char seen[QARENA_PRODUCERS][QARENA_ITEMS];
    atomic_int failures;
    atomic_int arrived;
    atomic_int got;
};

#define QARENA_QUEUE_OFF (((sizeof(struct qarena)) + 63u) & ~(size_t)63u)
#define QARENA_BYTES (QARENA_QUEUE_OFF + ct_shm_queue_bytes(QARENA_CAPACITY, sizeof(struct qitem)))

static inline ct_shm_queue_t *qarena_queue(struct qarena *a)
{
    return (ct_shm_queue_t *)((unsigned char *)a + QARENA_QUEUE_OFF);
}

static inline uint32_t qitem_sum(const struct qitem *it)
{
    uint32_t h = 2166136261u ^ it->producer ^ (it->seq << 8);
    for (size_t i = 0; i < sizeof it->payload; i++)
        h = (h ^ it->payload[i]) * 16777619u;
    return h;
}

static inline void qitem_fill(struct qitem *it, uint32_t producer, uint32_t seq)
{
    it->producer = producer;
    it->seq = seq;
    for (size_t i = 0; i < sizeof it->payload; i++)
        it->payload[i] = (unsigned char)(producer * 31u + seq * 7u + i);
    it->sum = qitem_sum(it);
}

static inline bool qitem_intact(const struct qitem *it)
{
    if (it->producer >= QARENA_PRODUCERS || it->seq >= QARENA_ITEMS || it->sum != qitem_sum(it))
        return false;
    for (size_t i = 0; i < sizeof it->payload; i++)
        if (it->payload[i] != (unsigned char)(it->producer * 31u + it->seq * 7u + i))
            return false;
    return true;
}

/* Puts items 0 .. n-1 of producer p.  Returns 0, or the number of failed puts. */
static inline int qrole_produce(struct qarena *a, uint32_t p, int n)
{
    ct_shm_queue_t *q = qarena_queue(a);
    int bad = 0;

    atomic_fetch_add(&a->arrived, 1);
    for (int s = 0; s < n; s++) {
        struct qitem it;
        int64_t t0 = ct_now_ns();
        qitem_fill(&it, p, (uint32_t)s);
        if (ct_shm_queue_put(q, &it, QARENA_WAIT) != CT_OK || ct_now_ns() - t0 > QARENA_SLOW)
            bad++;
    }
    if (bad)
        atomic_fetch_add(&a->failures, bad);
    return bad;
}

/* Gets n items; each must be intact, seen for the first time, and later than
 * the last one of its producer this consumer saw.  Returns 0, or the number
 * of failures. */
static inline int qrole_consume(struct qarena *a, int n)
{
    ct_shm_queue_t *q = qarena_queue(a);
    int64_t last[QARENA_PRODUCERS];
    int bad = 0;

    for (int p = 0; p < QARENA_PRODUCERS; p++)
        last[p] = -1;
    atomic_fetch_add(&a->arrived, 1);
    for (int i = 0; i < n; i++) {
        struct qitem it;
        int64_t t0 = ct_now_ns();
        if (ct_shm_queue_get(q, &it, QARENA_WAIT) != CT_OK || !qitem_intact(&it)) {
            bad++;
            continue;
        }
        if (ct_now_ns() - t0 > QARENA_SLOW)
            bad++;
        if ((int64_t)it.seq <= last[it.producer])
            bad++;
        last[it.producer] = it.seq;
        if (atomic_fetch_add(&a->seen[it.producer][it.seq], 1) != 0)
            bad++;
        atomic_fetch_add(&a->got, 1);
    }
    if (bad)
        atomic_fetch_add(&a->failures, bad);
    return bad;
}

/* Waits in get on an empty queue until a shutdown ends the wait.  Returns 0
 * if the get returned CT_ESHUTDOWN. */
static inline int qrole_await_shutdown(struct qarena *a)
{
    struct qitem it;
    int rc;

    int64_t t0 = ct_now_ns();

    atomic_fetch_add(&a->arrived, 1);
    rc = ct_shm_queue_get(qarena_queue(a), &it, QARENA_WAIT);
    if (rc != CT_ESHUTDOWN || ct_now_ns() - t0 > QARENA_SLOW) {
        atomic_fetch_add(&a->failures, 1);
        return 1;
    }
    return 0;
}

#endif
