// The C++17 consumer: <cthreading.hpp> with the standard lock machinery —
// std::scoped_lock over two ct::lock, std::unique_lock + std::condition_variable_any,
// std::lock_guard over ct::rlock, ct::condition's waits, the GIL scopes — and
// the misuse codes the wrappers pass through.  Built with -Wall -Wextra
// -Wpedantic -Wold-style-cast -Wzero-as-null-pointer-constant -Werror, the
// headers not treated as system headers.  Exits 0 and prints "cxx consumer
// ok" when everything holds; prints each failed check otherwise.
//
// Used twice: against the installed tree (ctest consumer_cxx17, see
// ../consumer.sh) and in-tree in every build that has a C++ compiler
// (ctest test_cxx, so TSan and ASan see the wrappers too).
//
// SPDX-License-Identifier: MIT
#include <cthreading.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace {

int failures = 0;

void check(bool ok, const char *what, int line)
{
    if (!ok) {
        std::fprintf(stderr, "cxx consumer: FAILED line %d: %s\n", line, what);
        failures++;
    }
}
#define CHECK(x) check((x), #x, __LINE__)

// Under ThreadSanitizer the Lock describes itself to TSan, which reports the
// deliberate release of an unlocked Lock (test/tsan checks that report): the
// in-tree TSan build skips that one check.
#if defined(__SANITIZE_THREAD__)
#  define CT_UNDER_TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define CT_UNDER_TSAN 1
#  endif
#endif

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Constant-initialised at namespace scope, like `static ct_lock_t l = CT_LOCK_INIT;`.
ct::lock global_lock;

void version()
{
    CHECK(std::strcmp(CT_VERSION_STRING, ct_version()) == 0);
#ifdef CT_EXPECT_VERSION
    CHECK(std::strcmp(CT_VERSION_STRING, CT_EXPECT_VERSION) == 0);
#endif
    CHECK(CT_VERSION_NUMBER == CT_VERSION_MAJOR * 10000 + CT_VERSION_MINOR * 100 + CT_VERSION_PATCH);
}

// Two counters, each under its own lock, updated together by threads that
// name the locks in opposite orders: std::scoped_lock (std::lock underneath,
// i.e. lock + try_lock + unlock) must neither deadlock nor lose an update.
void scoped_lock_over_two()
{
    ct::lock a, b;
    long in_a = 0, in_b = 0;
    const int rounds = 20000;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++)
        threads.emplace_back([&, t] {
            for (int i = 0; i < rounds; i++) {
                if (t % 2 == 0) {
                    std::scoped_lock both(a, b);
                    in_a++;
                    in_b++;
                } else {
                    std::scoped_lock both(b, a);
                    in_b++;
                    in_a++;
                }
            }
        });
    for (std::thread &t : threads)
        t.join();
    CHECK(in_a == 4L * rounds && in_b == 4L * rounds);
    CHECK(!a.locked() && !b.locked());
}

// A bounded queue over one ct::lock and two std::condition_variable_any.
void condition_variable_any_queue()
{
    ct::lock m;
    std::condition_variable_any not_empty, not_full;
    std::deque<int> q;
    const int items = 5000;
    long sum = 0;
    bool in_order = true;
    std::thread consumer([&] {
        int expect = 0;
        for (int i = 0; i < items; i++) {
            std::unique_lock<ct::lock> lk(m);
            not_empty.wait(lk, [&] { return !q.empty(); });
            if (q.front() != expect++)
                in_order = false;
            sum += q.front();
            q.pop_front();
            not_full.notify_one();
        }
    });
    for (int i = 0; i < items; i++) {
        std::unique_lock<ct::lock> lk(m);
        not_full.wait(lk, [&] { return q.size() < 8; });
        q.push_back(i);
        not_empty.notify_one();
    }
    consumer.join();
    CHECK(in_order);
    CHECK(sum == static_cast<long>(items) * (items - 1) / 2);
    // wait_for that times out returns with the lock held again.
    std::unique_lock<ct::lock> lk(m);
    CHECK(not_empty.wait_for(lk, milliseconds(2)) == std::cv_status::timeout);
    CHECK(lk.owns_lock() && m.locked());
}

void timed_lock()
{
    ct::lock l;
    CHECK(l.try_lock_for(milliseconds(1)));                 // free: taken at once
    std::thread other([&] {
        steady_clock::time_point t0 = steady_clock::now();
        CHECK(!l.try_lock_for(milliseconds(20)));
        CHECK(steady_clock::now() - t0 >= milliseconds(20));  // never early
        CHECK(!l.try_lock_until(steady_clock::now() + milliseconds(5)));
        CHECK(!l.try_lock_until(std::chrono::system_clock::now() + milliseconds(5)));
        CHECK(!l.try_lock_for(std::chrono::nanoseconds(-5)));  // <= 0: try once
        CHECK(!l.try_lock());
        CHECK(l.acquire_timed(0) == CT_ETIMEDOUT);
        CHECK(l.acquire_timed(-2) == CT_EINVAL);             // the C code, unchanged
    });
    other.join();
    CHECK(l.unlock() == CT_OK);
#ifndef CT_UNDER_TSAN
    CHECK(l.unlock() == CT_EPERM);                          // misuse: the C call's code
#endif
    // A huge duration saturates (no overflow) and a free lock is taken at once.
    CHECK(l.try_lock_for(std::chrono::hours::max()));
    CHECK(l.unlock() == CT_OK);
    CHECK(l.try_lock_for(std::chrono::duration<double>(0.001)));
    // std::unique_lock's timed constructor goes through try_lock_for.
    std::unique_lock<ct::lock> held(l, std::adopt_lock);
    std::thread third([&] {
        std::unique_lock<ct::lock> lk(l, milliseconds(3));
        CHECK(!lk.owns_lock());
    });
    third.join();
    held.unlock();
    std::unique_lock<ct::lock> lk(l, milliseconds(3));
    CHECK(lk.owns_lock());
    std::lock_guard<ct::lock> g(global_lock);
    CHECK(global_lock.locked());
}

void recursive_lock()
{
    ct::rlock r;
    {
        std::lock_guard<ct::rlock> g1(r);
        std::lock_guard<ct::rlock> g2(r);
        CHECK(r.is_owned() && r.count() == 2);
        std::thread other([&] {
            CHECK(!r.is_owned());
            CHECK(r.unlock() == CT_EPERM);                  // not the owner
            CHECK(!r.try_lock_for(milliseconds(2)));
        });
        other.join();
        CHECK(r.count() == 2);
    }
    CHECK(!r.is_owned() && r.count() == 0);
    CHECK(r.unlock() == CT_EPERM);
    CHECK(r.lock() == CT_OK);
    CHECK(r.unlock() == CT_OK);
}

void condition_waits()
{
    ct::lock l;
    ct::condition cv(l);
    bool ready = false;
    int woken = -100;

    std::thread waiter([&] {
        std::unique_lock<ct::lock> lk(l);
        CHECK(cv.wait(lk, [&] { return ready; }) == CT_OK);
        CHECK(ready && lk.owns_lock() && l.locked());
    });
    // Notify only once the waiter is waiting (it released the lock inside
    // wait, and notify_one tells how many it woke).
    for (;;) {
        std::unique_lock<ct::lock> lk(l);
        ready = true;
        woken = cv.notify_one();
        if (woken == 1)
            break;
        ready = false;
        lk.unlock();
        std::this_thread::yield();
    }
    waiter.join();
    CHECK(woken == 1);

    std::unique_lock<ct::lock> lk(l);
    steady_clock::time_point t0 = steady_clock::now();
    CHECK(cv.wait_for(lk, milliseconds(10)) == CT_ETIMEDOUT);
    CHECK(steady_clock::now() - t0 >= milliseconds(10));
    int calls = 0;
    CHECK(cv.wait_for(lk, milliseconds(5), [&] { return ++calls > 1000000; }) == CT_ETIMEDOUT);
    CHECK(calls >= 2);                                       // at once and when the time is up
    CHECK(cv.wait_for(lk, milliseconds(5), [] { return true; }) == CT_OK);
    CHECK(cv.wait_until(lk, steady_clock::now() + milliseconds(3)) == CT_ETIMEDOUT);
    CHECK(cv.wait_until(lk, std::chrono::system_clock::now() + milliseconds(3),
                        [] { return false; }) == CT_ETIMEDOUT);
    CHECK(lk.owns_lock() && l.locked());
    lk.unlock();

    // Misuse: the lock not held, or not the bound one -> CT_EPERM, no wait,
    // the predicate not run.
    CHECK(cv.notify_all() == CT_EPERM);
    CHECK(cv.wait(lk) == CT_EPERM);
    const int calls_before = calls;
    CHECK(cv.wait(lk, [&] { return ++calls < 0; }) == CT_EPERM);
    CHECK(calls == calls_before);
    ct::lock other;
    std::unique_lock<ct::lock> wrong(other);
    CHECK(cv.wait_for(wrong, milliseconds(1)) == CT_EPERM);
    CHECK(cv.wait(wrong, [] { return true; }) == CT_EPERM);

    // The condition as the lockable (its own RLock, Condition()).
    ct::condition own;
    std::unique_lock<ct::condition> ol(own);
    CHECK(own.is_owned());
    CHECK(own.notify(3) == 0);
    CHECK(own.wait_for(ol, milliseconds(1), [] { return false; }) == CT_ETIMEDOUT);
    CHECK(own.is_owned());
    ol.unlock();
    CHECK(own.unlock() == CT_EPERM);
}

void gil_scopes()
{
    ct_gil_t gil;
    CHECK(ct_gil_init(&gil, CT_GIL_PRIORITY) == CT_OK);
    CHECK(ct_gil_acquire(&gil) == CT_OK);
    {
        ct::allow_threads nogil(gil);
        CHECK(nogil.released() && !ct_gil_held(&gil));
        std::thread t([&] {
            ct::ensure_gil hold(gil);                        // another thread can take it
            CHECK(hold.state() == CT_GIL_STATE_UNLOCKED && ct_gil_held(&gil));
        });
        t.join();
    }
    CHECK(ct_gil_held(&gil));
    {
        ct::ensure_gil again(gil);                          // nested: already held
        CHECK(again.state() == CT_GIL_STATE_LOCKED);
    }
    CHECK(ct_gil_held(&gil));
    CHECK(ct_gil_release(&gil) == CT_OK);
    {
        ct::allow_threads nothing_to_release(gil);          // not held: no-op both ways
        CHECK(!nothing_to_release.released());
    }
    CHECK(!ct_gil_held(&gil));
    ct_gil_destroy(&gil);
}

} // namespace

int main()
{
    version();
    scoped_lock_over_two();
    condition_variable_any_queue();
    timed_lock();
    recursive_lock();
    condition_waits();
    gil_scopes();
    if (failures) {
        std::fprintf(stderr, "cxx consumer: %d failure(s)\n", failures);
        return 1;
    }
    std::printf("cxx consumer ok: cthreading %s, C++ %ld\n", ct_version(),
                static_cast<long>(__cplusplus));
    return 0;
}
