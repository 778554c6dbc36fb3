// absl::Mutex behind the C interface of peer_absl.h (benchmark peer only).
//
// SPDX-License-Identifier: MIT
#include "peer_absl.h"

#include <new>

#include "absl/synchronization/mutex.h"

static_assert(sizeof(absl::Mutex) <= sizeof(peer_absl_mutex::storage), "storage too small");
static_assert(alignof(absl::Mutex) <= 16, "storage under-aligned");

static absl::Mutex *as_mutex(peer_absl_mutex *m)
{
    return std::launder(reinterpret_cast<absl::Mutex *>(m->storage));
}

// Lock-order (deadlock) tracking is on by default when absl itself was built
// without NDEBUG, and costs ~150 ns per uncontended Lock+Unlock; a release
// build of a user's program has it off, so the benchmark turns it off.
extern "C" void peer_absl_init(peer_absl_mutex *m)
{
    static const bool once = [] {
        absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
        return true;
    }();
    (void)once;
    new (m->storage) absl::Mutex();
}
extern "C" void peer_absl_destroy(peer_absl_mutex *m) { as_mutex(m)->~Mutex(); }
extern "C" void peer_absl_lock(peer_absl_mutex *m) { as_mutex(m)->Lock(); }
extern "C" void peer_absl_unlock(peer_absl_mutex *m) { as_mutex(m)->Unlock(); }
