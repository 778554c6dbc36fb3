// C++ use of the installed library: the headers compile as C++11, declare C
// linkage, and the objects work from C++ code (a lambda-free C++11 program,
// linked against libcthreading.so).  Built and run by the hygiene_cxx test.
//
// SPDX-License-Identifier: MIT
#include <cthreading.h>

#include <cstdio>
#include <cstring>

namespace {

ct_lock_t lock = CT_LOCK_INIT;
long counter = 0;

extern "C" void count(void *arg)
{
    long rounds = *static_cast<long *>(arg);
    for (long i = 0; i < rounds; i++) {
        ct_lock_acquire(&lock);
        counter++;
        ct_lock_release(&lock);
    }
}

} // namespace

int main()
{
    long rounds = 10000;
    ct_thread_t threads[3];
    for (ct_thread_t &t : threads)
        if (ct_thread_start(&t, count, &rounds) != CT_OK)
            return 1;
    for (ct_thread_t &t : threads)
        if (ct_thread_join(&t, CT_FOREVER) != CT_OK)
            return 1;
    if (counter != 3 * rounds || ct_lock_locked(&lock) || !ct_lock_try_acquire(&lock))
        return 1;
    if (ct_lock_acquire_timed(&lock, 0) != CT_ETIMEDOUT || ct_lock_release(&lock) != CT_OK)
        return 1;
    if (std::strncmp(ct_strerror(CT_EPERM), "CT_EPERM", 8) != 0)
        return 1;
    std::printf("C++ consumer ok: %ld increments, ident %llu\n", counter,
                static_cast<unsigned long long>(ct_thread_ident()));
    return 0;
}
