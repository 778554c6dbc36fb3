/* cthreading — C++11 wrappers over the C API (header-only).
 *
 *   ct::lock       (ct::Lock)       threading.Lock      Lockable, TimedLockable
 *   ct::rlock      (ct::RLock)      threading.RLock     Lockable, TimedLockable
 *   ct::condition  (ct::Condition)  threading.Condition Lockable, TimedLockable,
 *                                   wait / wait_for / wait_until with a
 *                                   std::unique_lock, notify_one / notify_all
 *   ct::allow_threads               Py_BEGIN/END_ALLOW_THREADS as a scope
 *   ct::ensure_gil                  PyGILState_Ensure/Release as a scope
 *
 * The locks work with std::lock_guard, std::unique_lock, std::scoped_lock,
 * std::lock and std::condition_variable_any.  ct::lock is an alias of the
 * class ct::Lock because a C++ class cannot have a member function named like
 * itself (lock()); the other two have lowercase aliases to match.
 *
 * Nothing here throws or allocates: expected outcomes (a timeout, a misuse the
 * C call detects) are return values — the C call's code where the C function
 * returns one (unlock() of an unlocked Lock returns CT_EPERM, as
 * ct_lock_release does), bool where the standard requirement asks for one
 * (try_lock_for).  Only a user's predicate may throw; it runs with the lock
 * held and the exception leaves with the lock held, as with the standard
 * condition variables.  The objects are neither copyable nor movable (threads
 * wait on their address).  Every wrapper is the C object and nothing more,
 * except a Condition, which also remembers which wrapper it is bound to.
 *
 * Durations: a std::chrono duration is rounded up to whole nanoseconds (a wait
 * is never shorter than asked), a zero or negative one means "try once" (as
 * std::timed_mutex), and one above CT_TIMEOUT_MAX waits CT_TIMEOUT_MAX (292
 * years).  The *_until calls wait on the time point's own clock: they return
 * "timed out" only once Clock::now() has reached the time point.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_HPP
#define CTHREADING_HPP

#include "cthreading.h"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <ratio>

namespace ct {

namespace detail {

/* A std::chrono duration as a cthreading timeout (see "Durations" above). */
template <class Rep, class Period>
inline std::int64_t to_timeout(const std::chrono::duration<Rep, Period> &d)
{
    typedef std::chrono::duration<Rep, Period> duration;
    if (d <= duration::zero())
        return 0;
    if (std::chrono::duration<long double, std::nano>(d).count() >=
        static_cast<long double>(CT_TIMEOUT_MAX))
        return CT_TIMEOUT_MAX;
    std::chrono::nanoseconds ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d);
    if (ns < d)
        ++ns;
    return ns.count() < CT_TIMEOUT_MAX ? ns.count() : CT_TIMEOUT_MAX;
}

/* The timed acquire of each C type, so the templates below share one loop. */
inline int acquire_timed(ct_lock_t *l, std::int64_t ns) noexcept
{
    return ct_lock_acquire_timed(l, ns);
}
inline int acquire_timed(ct_rlock_t *r, std::int64_t ns) noexcept
{
    return ct_rlock_acquire_timed(r, ns);
}
inline int acquire_timed(ct_cond_t *c, std::int64_t ns) noexcept
{
    return ct_cond_acquire_timed(c, ns);
}

/* Whether a timed acquire's code means "the caller holds it now" (an RLock
 * taken over from a dead process is held, see CT_EOWNERDEAD). */
inline bool acquired(int code) noexcept
{
    return code == CT_OK || code == CT_EOWNERDEAD;
}

template <class Native, class Rep, class Period>
inline bool try_acquire_for(Native *n, const std::chrono::duration<Rep, Period> &d) noexcept
{
    return acquired(acquire_timed(n, to_timeout(d)));
}

/* Waits on Clock until tp: re-waits if the library's monotonic clock ran out
 * before Clock reached tp (Clock may be system_clock, adjusted meanwhile). */
template <class Native, class Clock, class Duration>
inline bool try_acquire_until(Native *n, const std::chrono::time_point<Clock, Duration> &tp)
{
    for (;;) {
        int code = acquire_timed(n, to_timeout(tp - Clock::now()));
        if (code != CT_ETIMEDOUT)
            return acquired(code);
        if (!(Clock::now() < tp))
            return false;
    }
}

} // namespace detail

/* threading.Lock — ct_lock_t (4 bytes, not recursive, any thread may
 * release it).  constexpr-constructible: a namespace-scope ct::lock is
 * constant-initialised, like `static ct_lock_t l = CT_LOCK_INIT;`. */
class Lock {
public:
    constexpr Lock() noexcept : l_() {}
    Lock(const Lock &) = delete;
    Lock &operator=(const Lock &) = delete;

    /* ct_lock_acquire: blocks until held (re-locking from the holder
     * deadlocks, as in Python). */
    void lock() noexcept { ct_lock_acquire(&l_); }
    /* ct_lock_try_acquire: true if the caller now holds it. */
    bool try_lock() noexcept { return ct_lock_try_acquire(&l_); }
    /* ct_lock_acquire_timed with d (see "Durations"): true if held. */
    template <class Rep, class Period>
    bool try_lock_for(const std::chrono::duration<Rep, Period> &d) noexcept
    {
        return detail::try_acquire_for(&l_, d);
    }
    /* As try_lock_for, until Clock::now() reaches tp. */
    template <class Clock, class Duration>
    bool try_lock_until(const std::chrono::time_point<Clock, Duration> &tp)
    {
        return detail::try_acquire_until(&l_, tp);
    }
    /* ct_lock_release: CT_OK, or CT_EPERM if it was not locked. */
    int unlock() noexcept { return ct_lock_release(&l_); }
    /* ct_lock_acquire_timed with a timeout in ns: its code, unchanged. */
    int acquire_timed(std::int64_t timeout_ns) noexcept
    {
        return ct_lock_acquire_timed(&l_, timeout_ns);
    }
    /* ct_lock_locked — Lock.locked(). */
    bool locked() const noexcept { return ct_lock_locked(&l_); }

    ct_lock_t *native_handle() noexcept { return &l_; }

private:
    ct_lock_t l_;
};

/* threading.RLock — ct_rlock_t (owner-checked, recursive). */
class RLock {
public:
    constexpr RLock() noexcept : r_() {}
    RLock(const RLock &) = delete;
    RLock &operator=(const RLock &) = delete;

    /* ct_rlock_acquire: CT_OK, CT_EOVERFLOW (count full, not acquired) or
     * CT_EOWNERDEAD (taken over from a dead process: held). */
    int lock() noexcept { return ct_rlock_acquire(&r_); }
    bool try_lock() noexcept { return ct_rlock_try_acquire(&r_); }
    template <class Rep, class Period>
    bool try_lock_for(const std::chrono::duration<Rep, Period> &d) noexcept
    {
        return detail::try_acquire_for(&r_, d);
    }
    template <class Clock, class Duration>
    bool try_lock_until(const std::chrono::time_point<Clock, Duration> &tp)
    {
        return detail::try_acquire_until(&r_, tp);
    }
    /* ct_rlock_release: CT_OK, or CT_EPERM unless the caller owns it. */
    int unlock() noexcept { return ct_rlock_release(&r_); }
    int acquire_timed(std::int64_t timeout_ns) noexcept
    {
        return ct_rlock_acquire_timed(&r_, timeout_ns);
    }
    /* ct_rlock_is_owned / ct_rlock_count: by the calling thread. */
    bool is_owned() const noexcept { return ct_rlock_is_owned(&r_); }
    unsigned count() const noexcept { return ct_rlock_count(&r_); }

    ct_rlock_t *native_handle() noexcept { return &r_; }

private:
    ct_rlock_t r_;
};

/* threading.Condition — ct_cond_t.  Condition() has its own RLock (as
 * Python's Condition()); Condition(lock) / Condition(rlock) binds it to that
 * wrapper for life (the lock must outlive it).
 *
 * The condition is itself Lockable: lock()/unlock() take and release the
 * bound lock.  The wait calls take the std::unique_lock the caller holds:
 * over the bound ct::lock / ct::rlock or over the condition itself.  A
 * unique_lock that does not own its lock, or whose lock is not the bound one,
 * gets CT_EPERM and nothing is waited for (the C call's answer for a lock not
 * held).  Return codes are the C calls': CT_OK means notified (no spurious
 * wake-ups), or, with a predicate, that the predicate returned true. */
class Condition {
public:
    constexpr Condition() noexcept : c_(), bound_(nullptr) {}
    explicit Condition(Lock &l) noexcept : c_(), bound_(&l)
    {
        ct_cond_init(&c_, l.native_handle());
    }
    explicit Condition(RLock &r) noexcept : c_(), bound_(&r)
    {
        ct_cond_init_rlock(&c_, r.native_handle());
    }
    Condition(const Condition &) = delete;
    Condition &operator=(const Condition &) = delete;

    /* The bound lock, through ct_cond_acquire & co. */
    int lock() noexcept { return ct_cond_acquire(&c_); }
    bool try_lock() noexcept { return ct_cond_try_acquire(&c_); }
    template <class Rep, class Period>
    bool try_lock_for(const std::chrono::duration<Rep, Period> &d) noexcept
    {
        return detail::try_acquire_for(&c_, d);
    }
    template <class Clock, class Duration>
    bool try_lock_until(const std::chrono::time_point<Clock, Duration> &tp)
    {
        return detail::try_acquire_until(&c_, tp);
    }
    int unlock() noexcept { return ct_cond_release(&c_); }
    bool is_owned() const noexcept { return ct_cond_is_owned(&c_); }

    /* ct_cond_wait: CT_OK (notified) or CT_EPERM. */
    template <class L>
    int wait(std::unique_lock<L> &lk) noexcept
    {
        return holds(lk) ? ct_cond_wait(&c_) : CT_EPERM;
    }
    /* Waits until pred() is true — wait_for(pred) without a timeout: pred runs
     * with the lock held, first at once.  CT_OK, or CT_EPERM (pred not run). */
    template <class L, class Predicate>
    int wait(std::unique_lock<L> &lk, Predicate pred)
    {
        if (!holds(lk))
            return CT_EPERM;
        while (!pred()) {
            int code = ct_cond_wait(&c_);
            if (code != CT_OK)
                return code;
        }
        return CT_OK;
    }
    /* ct_cond_wait_timed: CT_OK (notified), CT_ETIMEDOUT, CT_EPERM. */
    template <class L, class Rep, class Period>
    int wait_for(std::unique_lock<L> &lk, const std::chrono::duration<Rep, Period> &d) noexcept
    {
        return holds(lk) ? ct_cond_wait_timed(&c_, detail::to_timeout(d)) : CT_EPERM;
    }
    /* Condition.wait_for(pred, timeout): one deadline for all the waits;
     * pred runs at once, after every wake-up and once more when the time is
     * up.  CT_OK (pred true), CT_ETIMEDOUT (still false), CT_EPERM (pred not
     * run). */
    template <class L, class Rep, class Period, class Predicate>
    int wait_for(std::unique_lock<L> &lk, const std::chrono::duration<Rep, Period> &d,
                 Predicate pred)
    {
        if (!holds(lk))
            return CT_EPERM;
        const std::int64_t timeout = detail::to_timeout(d);
        const std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
        while (!pred()) {
            const std::int64_t elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::steady_clock::now() - start).count();
            if (elapsed >= timeout)
                return CT_ETIMEDOUT;
            int code = ct_cond_wait_timed(&c_, timeout - elapsed);
            if (code == CT_ETIMEDOUT)
                return pred() ? CT_OK : CT_ETIMEDOUT;
            if (code != CT_OK)
                return code;
        }
        return CT_OK;
    }
    /* As wait_for, until Clock::now() reaches tp. */
    template <class L, class Clock, class Duration>
    int wait_until(std::unique_lock<L> &lk, const std::chrono::time_point<Clock, Duration> &tp)
    {
        if (!holds(lk))
            return CT_EPERM;
        for (;;) {
            int code = ct_cond_wait_timed(&c_, detail::to_timeout(tp - Clock::now()));
            if (code != CT_ETIMEDOUT || !(Clock::now() < tp))
                return code;
        }
    }
    template <class L, class Clock, class Duration, class Predicate>
    int wait_until(std::unique_lock<L> &lk, const std::chrono::time_point<Clock, Duration> &tp,
                   Predicate pred)
    {
        if (!holds(lk))
            return CT_EPERM;
        while (!pred()) {
            int code = wait_until(lk, tp);
            if (code == CT_ETIMEDOUT)
                return pred() ? CT_OK : CT_ETIMEDOUT;
            if (code != CT_OK)
                return code;
        }
        return CT_OK;
    }

    /* ct_cond_notify(1) / (n) / ct_cond_notify_all: the number of waiters
     * woken, or CT_EPERM if the caller does not hold the bound lock. */
    int notify_one() noexcept { return ct_cond_notify(&c_, 1); }
    int notify(unsigned n) noexcept { return ct_cond_notify(&c_, n); }
    int notify_all() noexcept { return ct_cond_notify_all(&c_); }

    ct_cond_t *native_handle() noexcept { return &c_; }

private:
    template <class L>
    bool holds(const std::unique_lock<L> &lk) const noexcept
    {
        const void *m = lk.mutex();
        return lk.owns_lock() && (m == this || (bound_ != nullptr && m == bound_));
    }

    ct_cond_t c_;
    const void *bound_;   /* the Lock or RLock wrapper bound, or nullptr (own) */
};

typedef Lock lock;
typedef RLock rlock;
typedef Condition condition;

/* Py_BEGIN_ALLOW_THREADS ... Py_END_ALLOW_THREADS as a scope (the C macros'
 * CT_BEGIN/END_ALLOW_THREADS): the constructor releases g if the caller holds
 * it; the destructor takes it back (as coming back from a blocking section)
 * only if the constructor released it. */
class allow_threads {
public:
    explicit allow_threads(ct_gil_t &g) noexcept
        : g_(&g), released_(ct_gil_release(&g) == CT_OK) {}
    ~allow_threads() noexcept
    {
        if (released_)
            (void)ct_gil_acquire(g_);
    }
    allow_threads(const allow_threads &) = delete;
    allow_threads &operator=(const allow_threads &) = delete;

    /* True if the constructor released the GIL (the caller held it). */
    bool released() const noexcept { return released_; }

private:
    ct_gil_t *g_;
    bool released_;
};

/* PyGILState_Ensure ... PyGILState_Release as a scope: holds g for the scope
 * from any thread (ct_gil_ensure), nestable. */
class ensure_gil {
public:
    explicit ensure_gil(ct_gil_t &g) noexcept : g_(&g), state_(ct_gil_ensure(&g)) {}
    ~ensure_gil() noexcept { (void)ct_gil_release_state(g_, state_); }
    ensure_gil(const ensure_gil &) = delete;
    ensure_gil &operator=(const ensure_gil &) = delete;

    /* What ct_gil_ensure found: CT_GIL_STATE_LOCKED (already held) or
     * CT_GIL_STATE_UNLOCKED (acquired for this scope). */
    ct_gil_state_t state() const noexcept { return state_; }

private:
    ct_gil_t *g_;
    ct_gil_state_t state_;
};

static_assert(sizeof(Lock) == sizeof(ct_lock_t), "ct::Lock is a ct_lock_t");
static_assert(sizeof(RLock) == sizeof(ct_rlock_t), "ct::RLock is a ct_rlock_t");

} // namespace ct

#endif /* CTHREADING_HPP */
