/* Atomics shim: C11 <stdatomic.h> over the plain words of the public structs.
 *
 * Public headers must compile as C++ and so cannot say _Atomic; the state
 * words there are plain uint32_t / uint64_t.  Inside src/ every access to such
 * a word goes through these views, so each one is an atomic access with an
 * explicit memory order.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_INTERNAL_ATOMIC_H
#define CT_INTERNAL_ATOMIC_H

#include <stdatomic.h>
#include <stdint.h>

_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t), "atomic u32 layout");
_Static_assert(_Alignof(_Atomic uint32_t) == _Alignof(uint32_t), "atomic u32 align");
_Static_assert(sizeof(_Atomic uint64_t) == sizeof(uint64_t), "atomic u64 layout");

/* View a plain public word as the atomic object it is. */
#define CT__A32(p) ((_Atomic uint32_t *)(p))
#define CT__A64(p) ((_Atomic uint64_t *)(p))
#define CT__APTR(p) ((void *_Atomic *)(p))

#define ct__load_relaxed(p)    atomic_load_explicit((p), memory_order_relaxed)
#define ct__load_acquire(p)    atomic_load_explicit((p), memory_order_acquire)
#define ct__store_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define ct__store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)

#endif /* CT_INTERNAL_ATOMIC_H */
