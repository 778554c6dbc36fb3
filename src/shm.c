/* Regions of shared memory: ct_shm_t and the registry of mapped ranges.
 *
 * A region is a plain shared mapping (platform/: shm_open + mmap); nothing
 * of the library lives inside it but the user's objects.  What makes those
 * objects work across processes is that this process knows the region's
 * address range (internal/shm.h): the wait layer then sleeps and wakes with
 * process-shared waits, RLock names its owner by process and thread, and
 * Condition keeps a queue with no pointers.
 *
 * The registry's lock is a Lock (ct_shm_create/open/close are rare and
 * never called from a fork handler), taken by the fork handlers as the
 * innermost service lock (internal/fork.h).  After fork() the child
 * inherits every mapping and the table with it, which stays true; only the
 * forking thread's cached owner id is renewed (its process id changed).
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>
#include <string.h>

#include "cthreading/lock.h"
#include "cthreading/shm.h"
#include "cthreading/thread.h"
#include "internal/fork.h"
#include "internal/atomic.h"
#include "internal/shm.h"
#include "platform/os.h"
#include "wait/wait.h"

struct ct__shm_range ct__shm_ranges[CT_SHM_MAX];
_Atomic uint32_t ct__shm_slots_used;

static ct_lock_t reg_lock = CT_LOCK_INIT;

bool ct_shm_contains(const void *p)
{
    return ct__shm_contains(p);
}

/* ---- owner ids ---------------------------------------------------------------- */

_Thread_local uint64_t ct__shm_my_owner_id CT__TLS_INITIAL_EXEC;

uint64_t ct__shm_owner_id_first(void)
{
    uint64_t id = (UINT64_C(1) << 63) | (ct__os_pid() & 0x7fffffu) << 40
                  | (ct_thread_ident() & ((UINT64_C(1) << 40) - 1));

    ct__shm_my_owner_id = id;
    return id;
}

bool ct__shm_pid_dead(uint64_t pid)
{
    return pid != ct__os_pid() && ct__os_pid_dead(pid);
}

/* fork(): the registry is a service of internal/fork.h (the innermost
 * lock: nothing else is taken under reg_lock), so no thread is between a
 * range's two halves, or holds reg_lock, when the process is copied. */
static void shm_fork_prepare(void) { ct_lock_acquire(&reg_lock); }
static void shm_fork_parent(void) { (void)ct_lock_release(&reg_lock); }
static void shm_fork_child(void)
{
    ct__shm_my_owner_id = 0;           /* a new process: a new owner id */
    ct__fork_child_unlock(&reg_lock);
}
const struct ct__fork_hooks ct__shm_fork_hooks = { shm_fork_prepare, shm_fork_parent,
                                                   shm_fork_child };

/* ---- the registry ------------------------------------------------------------- */

static bool name_ok(const char *name)
{
    size_t n;

    if (name == NULL || name[0] != '/')
        return false;
    n = strlen(name);
    return n >= 2 && n <= 251 && strchr(name + 1, '/') == NULL;
}

/* Writes slot i's range (reg_lock held): the sequence lock's writer side. */
static void range_write(uint32_t i, uintptr_t lo, uintptr_t hi)
{
    struct ct__shm_range *r = &ct__shm_ranges[i];
    uint32_t s = ct__load_relaxed(&r->seq);

    ct__store_relaxed(&r->seq, s + 1);
    atomic_thread_fence(memory_order_release);
    ct__store_relaxed(&r->lo, lo);
    ct__store_relaxed(&r->hi, hi);
    ct__store_release(&r->seq, s + 2);
}

/* Publishes [base, base + size) in a free slot; CT_EAGAIN if none is free. */
static int publish(void *base, size_t size, int *slot)
{
    uint32_t used;
    int rc = CT_EAGAIN;

    ct__fork_ready();
    ct_lock_acquire(&reg_lock);
    used = ct__load_relaxed(&ct__shm_slots_used);
    for (uint32_t i = 0; i < CT_SHM_MAX; i++) {
        if (ct__load_relaxed(&ct__shm_ranges[i].hi) != 0)
            continue;
        range_write(i, (uintptr_t)base, (uintptr_t)base + size);
        if (i + 1 > used)
            ct__store_release(&ct__shm_slots_used, i + 1);
        *slot = (int)i;
        rc = CT_OK;
        break;
    }
    (void)ct_lock_release(&reg_lock);
    return rc;
}

static void retract(int slot)
{
    ct_lock_acquire(&reg_lock);
    range_write((uint32_t)slot, 0, 0);
    (void)ct_lock_release(&reg_lock);
}

static int map(ct_shm_t *r, const char *name, bool create, size_t size)
{
    void *base;
    size_t mapped;
    int slot, rc;

    if (!ct__wait_can_share())
        return CT_ENOTSUP;
    rc = ct__os_shm_map(name, create, &size, &base, &mapped);
    if (rc != CT_OK)
        return rc;
    if ((rc = publish(base, size, &slot)) != CT_OK) {
        ct__os_shm_unmap(base, mapped);
        if (create && name != NULL)
            (void)ct__os_shm_unlink(name);
        return rc;
    }
    r->base_ = base;
    r->size_ = size;
    r->mapped_ = mapped;
    r->slot_ = slot;
    r->reserved_ = 0;
    return CT_OK;
}

int ct_shm_create(ct_shm_t *r, const char *name, size_t size)
{
    assert(r != NULL);
    if (size == 0 || (name != NULL && !name_ok(name)))
        return CT_EINVAL;
    return map(r, name, true, size);
}

int ct_shm_open(ct_shm_t *r, const char *name)
{
    assert(r != NULL);
    if (!name_ok(name))
        return CT_EINVAL;
    return map(r, name, false, 0);
}

void *ct_shm_base(const ct_shm_t *r)
{
    assert(r != NULL);
    return r->base_;
}

size_t ct_shm_size(const ct_shm_t *r)
{
    assert(r != NULL);
    return r->base_ != NULL ? r->size_ : 0;
}

int ct_shm_close(ct_shm_t *r)
{
    assert(r != NULL);
    if (r->base_ == NULL || r->slot_ < 0 || r->slot_ >= CT_SHM_MAX
        || ct__load_relaxed(&ct__shm_ranges[r->slot_].lo) != (uintptr_t)r->base_)
        return CT_EINVAL;
    retract(r->slot_);
    ct__os_shm_unmap(r->base_, r->mapped_);
    memset(r, 0, sizeof *r);
    return CT_OK;
}

int ct_shm_unlink(const char *name)
{
    if (!ct__wait_can_share())
        return CT_ENOTSUP;
    if (!name_ok(name))
        return CT_EINVAL;
    return ct__os_shm_unlink(name);
}
