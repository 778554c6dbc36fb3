/* Test-only workaround for clang 14's sanitizer runtimes and fork().
 *
 * The ASan runtime of clang 14 does not lock its allocator nor its thread
 * registry around fork(): the child of a multi-threaded process can inherit
 * a size-class lock or the registry lock held by a vanished thread, and its
 * next malloc of that size, or its next pthread_create, blocks for ever
 * (seen in the fork torture; newer runtimes lock around fork themselves).
 * Binaries that fork from many threads include this once: in ASan builds it
 * registers an atfork handler that takes the runtime's thread-registry,
 * allocator (the entries LeakSanitizer uses to stop the world) and stack
 * depot locks last in prepare and releases them first in parent and child.
 * Registered from an early constructor (priority 101, before the library's
 * own constructor in a static link), so its prepare runs after the
 * library's (pthread_atfork runs prepare handlers in reverse order of
 * registration): the library's prepare may wait for a thread inside malloc.
 * Not covered: the quarantine's lock (no entry point), which every thread
 * takes at exit and while it recycles freed memory; a child that starts a
 * thread can inherit it held and that thread then never exits.  The fork
 * torture runs ASan with the quarantine off for that (test/stress). 
 * ThreadSanitizer (clang 14) has the same allocator problem (its fork
 * handler locks its internal allocator and thread registry but not the user
 * allocator) and no entry point to lock it from outside: binaries that fork
 * under TSan must keep other threads out of malloc around fork (see
 * test/stress/torture_fork.c).  Nothing in other builds.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_TEST_SANITIZER_FORK_H
#define CT_TEST_SANITIZER_FORK_H

#if defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define CT_TEST_ASAN 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#  define CT_TEST_ASAN 1
#endif

#if defined(CT_TEST_ASAN) && !defined(_WIN32)
#include <pthread.h>
/* __lsan::LockThreadRegistry(), LockAllocator() and their unlocks (C++). */
void _ZN6__lsan18LockThreadRegistryEv(void);
void _ZN6__lsan20UnlockThreadRegistryEv(void);
void _ZN6__lsan13LockAllocatorEv(void);
void _ZN6__lsan15UnlockAllocatorEv(void);
/* __sanitizer::StackDepotLockAll() / StackDepotUnlockAll(): every malloc
 * stores its stack there. */
void _ZN11__sanitizer17StackDepotLockAllEv(void);
void _ZN11__sanitizer19StackDepotUnlockAllEv(void);

static void ct_test_asan_lock(void)
{
    _ZN6__lsan18LockThreadRegistryEv();
    _ZN6__lsan13LockAllocatorEv();
    _ZN11__sanitizer17StackDepotLockAllEv();
}
static void ct_test_asan_unlock(void)
{
    _ZN11__sanitizer19StackDepotUnlockAllEv();
    _ZN6__lsan15UnlockAllocatorEv();
    _ZN6__lsan20UnlockThreadRegistryEv();
}

__attribute__((constructor(101))) static void ct_test_asan_fork_init(void)
{
    (void)pthread_atfork(ct_test_asan_lock, ct_test_asan_unlock, ct_test_asan_unlock);
}
#endif

#endif
