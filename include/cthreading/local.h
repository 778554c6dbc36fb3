/* cthreading — Local: Python's threading.local as a per-thread value slot.
 *
 * A ct_local_t is one key: every thread sees its own value under it.  Unlike
 * pthread keys there is no PTHREAD_KEYS_MAX limit (millions of keys may be
 * live at once), the value is created lazily by a constructor (like the
 * __init__ of a threading.local subclass), and the destructor runs exactly
 * once per value — when its thread exits (also threads the library did not
 * create) or in ct_local_destroy, whichever comes first.
 *
 * Resources: a key owns a key id and one value per thread that touched it;
 * ct_local_destroy releases them all.  Each thread that uses any key owns a
 * small table (one pointer per key id up to the largest it used), freed when
 * the thread exits.  The library keeps one OS thread-local slot for all keys.
 *
 * After fork() the child keeps the forking thread's values; the values of the
 * other (vanished) threads are dropped without running their destructor, as
 * the threads themselves vanished (pthread keys behave the same way).  The
 * library's fork handlers take the registry lock before the fork, so the
 * child never inherits a half-updated registry, and the child may use every
 * call (also from threads it starts).  A fork inside a ct_local_foreach
 * callback is allowed: in the child the visit ends when the callback returns.
 *
 * Misuse checked in every build: a zeroed (never initialised) or destroyed
 * key has id 0, which no key ever gets: ct_local_set returns CT_EINVAL,
 * ct_local_get returns NULL, foreach and destroy do nothing — they never touch
 * another key's values.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_LOCAL_H
#define CTHREADING_LOCAL_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One thread-local key.  Caller-owned; treat as opaque.  Not valid when
 * zero-initialised: call ct_local_init first, ct_local_destroy last. */
typedef struct ct_local {
    uint32_t id;                 /* index into every thread's value table; 0 = none */
    uint32_t live;               /* 1 between init and destroy */
    void *(*ctor)(void *arg);
    void (*dtor)(void *value);
    void *arg;
} ct_local_t;

/* Creates a key — `class L(threading.local): def __init__(self): ...`.
 *
 * ctor: called as ctor(arg) on a thread's first ct_local_get when the thread
 *       has no value yet; its result becomes that thread's value (NULL is a
 *       valid result).  May be NULL: the first get then returns NULL.  It runs
 *       on the calling thread with no library lock held; it must not get the
 *       same key (that would recurse).
 * dtor: called as dtor(value) exactly once for every non-NULL value, on the
 *       exiting thread at thread exit or on the caller of ct_local_destroy.
 *       May be NULL.  It runs with no library lock held and may use other keys.
 * arg:  passed to ctor unchanged.
 *
 * Returns CT_OK; CT_ENOMEM if memory ran out; CT_EAGAIN if the key space
 * (2^22 live keys) or the one OS thread-local slot the library needs is
 * exhausted.  On an error k is unusable and nothing needs to be destroyed.
 * Any thread may call it. */
CT_API int ct_local_init(ct_local_t *k, void *(*ctor)(void *arg), void (*dtor)(void *value),
                         void *arg);

/* The calling thread's value — reading an attribute of a threading.local.
 * Runs ctor on the thread's first call (see ct_local_init); afterwards the
 * value last stored by ct_local_set or ctor.  Fast path: no lock, no system
 * call, a few loads.  Returns NULL if the value is NULL, or if the thread had
 * no value and memory for its table ran out (ctor then runs again on the next
 * call).  Only the value's own thread may call it for that value; calling it
 * concurrently with ct_local_destroy of the same key is a programming error. */
CT_API void *ct_local_get(ct_local_t *k);

/* Replaces the calling thread's value — assigning a threading.local
 * attribute.  The previous value is not passed to dtor (the caller owns what
 * it replaces, as with pthread_setspecific); ctor will not run for this
 * thread afterwards, even when value is NULL.  Returns CT_OK; CT_ENOMEM if
 * the thread's table could not grow (nothing changed); CT_EINVAL if k is
 * zeroed or destroyed (nothing changed).  Synchronises with
 * ct_local_foreach: a visitor sees either the old or the new value. */
CT_API int ct_local_set(ct_local_t *k, void *value);

/* Calls fn(value, arg) once for every live thread that has a non-NULL value
 * for k — folly's accessAllThreads, e.g. to sum per-thread counters.
 * fn runs on the caller while a library lock is held: during the visit no
 * thread can exit or store a value (so every value stays valid), and fn must
 * not call ct_local_* functions nor block for long.  A value being modified
 * by its thread may be read while it changes: use atomics inside the value. */
CT_API void ct_local_foreach(ct_local_t *k, void (*fn)(void *value, void *arg), void *arg);

/* Destroys the key — dropping the threading.local object.  Runs dtor on every
 * thread's non-NULL value that has not already been destroyed by its thread's
 * exit, and returns only after every dtor call for this key (also those that
 * exiting threads are running concurrently) has finished, so the caller may
 * free what dtor uses afterwards.  Afterwards k may be initialised again.
 * No other call on k may run concurrently, except threads exiting.  May be
 * called from any destructor, also from a thread-exit destructor of k itself
 * or of another key on the exiting thread (that thread's value of k is then
 * destroyed at once, or, if its destructor is the caller, not again). */
CT_API void ct_local_destroy(ct_local_t *k);

#ifdef __cplusplus
}
#endif
#endif /* CTHREADING_LOCAL_H */
