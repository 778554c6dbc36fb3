/* Platform layer for POSIX systems: the monotonic clock, OS threads (stack
 * size, timed join, names, native ids), thread-local slots and fork hooks.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <limits.h>
#include <sched.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "os.h"
#include "../internal/fatal.h"

_Static_assert(sizeof(pthread_t) <= sizeof(((ct__os_thread_t *)0)->v),
               "pthread_t must fit ct__os_thread_t");

int64_t ct__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static pthread_t tid_of(const ct__os_thread_t *h)
{
    pthread_t tid;
    memcpy(&tid, h->v, sizeof tid);
    return tid;
}

static void *posix_trampoline(void *rec)
{
    ct__thread_main(rec);
    return NULL;
}

/* CPython's threading.stack_size() refuses less than 32 KiB; the platform's
 * own minimum (PTHREAD_STACK_MIN, 16 KiB on x86-64 glibc) can be larger. */
#define CT_STACK_MIN ((size_t)32768)

int ct__os_stack_size(size_t requested, size_t *actual)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t min = CT_STACK_MIN, p = page > 0 ? (size_t)page : 4096;

    if ((size_t)PTHREAD_STACK_MIN > min)
        min = (size_t)PTHREAD_STACK_MIN;
    if (requested < min)
        return CT_EINVAL;
    if (requested > SIZE_MAX - (p - 1))
        return CT_EAGAIN;
    *actual = (requested + p - 1) / p * p;
    return CT_OK;
}

int ct__os_thread_create(ct__os_thread_t *h, size_t stack_size, void *arg)
{
    pthread_attr_t attr, *ap = NULL;
    pthread_t tid;
    int err;

    if (stack_size != 0) {
        if ((err = pthread_attr_init(&attr)) != 0)
            return err == ENOMEM ? CT_ENOMEM : CT_EAGAIN;
        ap = &attr;
        if ((err = pthread_attr_setstacksize(ap, stack_size)) != 0) {
            pthread_attr_destroy(ap);
            return CT_EINVAL;
        }
    }
    err = pthread_create(&tid, ap, posix_trampoline, arg);
    if (ap != NULL)
        pthread_attr_destroy(ap);
    if (err == EAGAIN)
        return CT_EAGAIN;
    if (err == ENOMEM)
        return CT_ENOMEM;
    if (err == EINVAL && ap != NULL)
        return CT_EINVAL;
    if (err != 0)
        ct__fatal("pthread_create", err);
    memset(h, 0, sizeof *h);
    memcpy(h->v, &tid, sizeof tid);
    return CT_OK;
}

int ct__os_thread_join_until(ct__os_thread_t *h, int64_t deadline)
{
    pthread_t tid = tid_of(h);
    int err;

    if (deadline == CT__NO_DEADLINE) {
        if ((err = pthread_join(tid, NULL)) != 0)
            ct__fatal("pthread_join", err);
        return CT_OK;
    }
#if defined(__GLIBC__) || defined(__linux__)
    /* pthread_timedjoin_np takes a CLOCK_REALTIME deadline (ThreadSanitizer
     * intercepts it, not pthread_clockjoin_np).  The caller only gets here
     * once the thread ran the library's last-round exit destructor, so this
     * wait covers the system's own teardown: a wall-clock jump during it is
     * the only way to wait past the monotonic deadline, and each slice is
     * recomputed from the monotonic clock. */
    for (;;) {
        int64_t left = deadline - ct__now_ns();
        struct timespec ts;

        if (left <= 0) {
            err = pthread_tryjoin_np(tid, NULL);
            if (err == EBUSY)
                return CT_ETIMEDOUT;
            if (err != 0)
                ct__fatal("pthread_tryjoin_np", err);
            return CT_OK;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t)(left / 1000000000);
        ts.tv_nsec += (long)(left % 1000000000);
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        err = pthread_timedjoin_np(tid, NULL, &ts);
        if (err == 0)
            return CT_OK;
        if (err != ETIMEDOUT)
            ct__fatal("pthread_timedjoin_np", err);
    }
#else
    /* No timed join: the caller waited (with its timeout) for the thread's
     * last-round exit destructor; only the system's teardown is left. */
    if ((err = pthread_join(tid, NULL)) != 0)
        ct__fatal("pthread_join", err);
    return CT_OK;
#endif
}

void ct__os_thread_detach(ct__os_thread_t *h)
{
    int err = pthread_detach(tid_of(h));
    if (err != 0)
        ct__fatal("pthread_detach", err);
}

void ct__os_thread_self(ct__os_thread_t *h)
{
    pthread_t me = pthread_self();
    memset(h, 0, sizeof *h);
    memcpy(h->v, &me, sizeof me);
}

void ct__os_thread_set_name(const ct__os_thread_t *h, bool self, uint64_t native_id,
                            const char *name)
{
    char buf[16];
    size_t n = strlen(name);

    (void)native_id;
    if (n > sizeof buf - 1) {
        n = sizeof buf - 1;
        /* Do not cut a UTF-8 sequence: back off over continuation bytes. */
        while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(buf, name, n);
    buf[n] = '\0';
#if defined(__GLIBC__) || defined(__linux__)
    (void)pthread_setname_np(self ? pthread_self() : tid_of(h), buf);
#else
    (void)h, (void)self;
#endif
}

uint64_t ct__os_native_id_self(void)
{
#if defined(__linux__)
    return (uint64_t)syscall(SYS_gettid);
#else
    uint64_t id = 0;
    pthread_t me = pthread_self();
    memcpy(&id, &me, sizeof me < sizeof id ? sizeof me : sizeof id);
    return id;
#endif
}

void ct__os_yield(void)
{
    sched_yield();
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
    if (err != 0)
        ct__fatal("pthread_key_create", err);
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

unsigned ct__os_tls_dtor_rounds(void)
{
    return PTHREAD_DESTRUCTOR_ITERATIONS;
}

void ct__os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    int err = pthread_atfork(prepare, parent, child);
    if (err != 0)
        ct__fatal("pthread_atfork", err);
}

unsigned ct__os_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1u : n > 1024 ? 1024u : (unsigned)n;
}

/* ---- shared memory ----------------------------------------------------------- */

static int shm_code(int err)
{
    switch (err) {
    case ENOENT: case ENAMETOOLONG: case EINVAL: return CT_EINVAL;
    case EEXIST: return CT_EBUSY;
    case EMFILE: case ENFILE: case EAGAIN: return CT_EAGAIN;
    case EACCES: case EPERM: return CT_EPERM;
    default: return CT_ENOMEM;       /* ENOMEM, ENOSPC, EFBIG, EOVERFLOW */
    }
}

int ct__os_shm_map(const char *name, bool create, size_t *size, void **base, size_t *mapped)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len;
    int fd = -1, err;
    void *p;

    if (name != NULL) {
        struct stat st;

        fd = shm_open(name, create ? O_RDWR | O_CREAT | O_EXCL : O_RDWR, 0600);
        if (fd < 0)
            return shm_code(errno);
        if (create) {
            if (*size > (size_t)INT64_MAX || ftruncate(fd, (off_t)*size) != 0)
                goto fail;
        } else {
            if (fstat(fd, &st) != 0)
                goto fail;
            if (st.st_size <= 0) {        /* being created right now, or not ours */
                errno = EINVAL;
                goto fail;
            }
            *size = (size_t)st.st_size;
        }
    }
    if (*size > SIZE_MAX - page) {
        errno = ENOMEM;
        goto fail;
    }
    len = (*size + page - 1) / page * page;
    p = mmap(NULL, len, PROT_READ | PROT_WRITE,
             name != NULL ? MAP_SHARED : MAP_SHARED | MAP_ANONYMOUS, fd, 0);
    if (p == MAP_FAILED)
        goto fail;
    if (fd >= 0)
        (void)close(fd);
    *base = p;
    *mapped = len;
    return CT_OK;
fail:
    err = errno;
    if (fd >= 0) {
        (void)close(fd);
        if (create)
            (void)shm_unlink(name);
    }
    return shm_code(err);
}

void ct__os_shm_unmap(void *base, size_t mapped)
{
    if (munmap(base, mapped) != 0)
        ct__fatal("munmap", errno);
}

int ct__os_shm_unlink(const char *name)
{
    return shm_unlink(name) == 0 ? CT_OK : shm_code(errno);
}

uint64_t ct__os_pid(void)
{
    return (uint64_t)getpid();
}

bool ct__os_pid_dead(uint64_t pid)
{
    /* A zombie (dead, not yet reaped by its parent) still answers kill();
     * it holds nothing any more, so /proc tells it apart where it exists. */
    char path[40], buf[256];
    FILE *f;
    size_t n;
    char *paren;

    if (pid == 0 || pid > (uint64_t)INT_MAX)
        return false;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) {
        (void)snprintf(path, sizeof path, "/proc/%llu/stat", (unsigned long long)pid);
        if ((f = fopen(path, "r")) == NULL)
            return false;
        n = fread(buf, 1, sizeof buf - 1, f);
        (void)fclose(f);
        buf[n] = '\0';
        paren = strrchr(buf, ')');
        return paren != NULL && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
    }
    return true;
}
