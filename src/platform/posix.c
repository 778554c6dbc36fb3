/* Platform layer for POSIX systems: the monotonic clock and OS threads.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "os.h"

_Static_assert(sizeof(pthread_t) <= sizeof(((ct_thread_t *)0)->handle),
               "pthread_t must fit ct_thread_t.handle");

int64_t ct__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *posix_trampoline(void *t)
{
    ct__thread_main((ct_thread_t *)t);
    return NULL;
}

int ct__os_thread_create(ct_thread_t *t)
{
    pthread_t tid;
    int err = pthread_create(&tid, NULL, posix_trampoline, t);

    if (err == EAGAIN)
        return CT_EAGAIN;
    if (err == ENOMEM)
        return CT_ENOMEM;
    if (err != 0) {
        fprintf(stderr, "cthreading: pthread_create failed: %s\n", strerror(err));
        abort();
    }
    memcpy(t->handle, &tid, sizeof tid);
    return CT_OK;
}

void ct__os_thread_join(ct_thread_t *t)
{
    pthread_t tid;
    int err;

    memcpy(&tid, t->handle, sizeof tid);
    if ((err = pthread_join(tid, NULL)) != 0) {
        fprintf(stderr, "cthreading: pthread_join failed: %s\n", strerror(err));
        abort();
    }
}

_Static_assert(sizeof(pthread_key_t) <= sizeof(((ct__os_tls_t *)0)->slot),
               "pthread_key_t must fit ct__os_tls_t");

int ct__os_tls_create(ct__os_tls_t *k, void (*dtor)(void *))
{
    pthread_key_t key;
    int err = pthread_key_create(&key, dtor);

    if (err == EAGAIN)
        return CT_EAGAIN;
    if (err == ENOMEM)
        return CT_ENOMEM;
    if (err != 0) {
        fprintf(stderr, "cthreading: pthread_key_create failed: %s\n", strerror(err));
        abort();
    }
    k->slot = (uint64_t)key;
    return CT_OK;
}

void *ct__os_tls_get(const ct__os_tls_t *k)
{
    return pthread_getspecific((pthread_key_t)k->slot);
}

int ct__os_tls_set(const ct__os_tls_t *k, void *value)
{
    return pthread_setspecific((pthread_key_t)k->slot, value) == 0 ? CT_OK : CT_ENOMEM;
}

void ct__os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    int err = pthread_atfork(prepare, parent, child);
    if (err != 0) {
        fprintf(stderr, "cthreading: pthread_atfork failed: %s\n", strerror(err));
        abort();
    }
}

unsigned ct__os_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1u : n > 1024 ? 1024u : (unsigned)n;
}
