/* absl::Mutex behind a C interface (peer_absl.cc), built only when CMake
 * finds libabsl-dev (pkg-config absl_synchronization): a benchmark-only
 * dependency, defines CT_BENCH_HAVE_ABSL.  The calls are out of line (C++
 * behind extern "C"); absl's own Lock/Unlock are out-of-line calls too.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_BENCH_PEER_ABSL_H
#define CT_BENCH_PEER_ABSL_H

#ifdef __cplusplus
extern "C" {
#endif

/* Storage for one absl::Mutex; peer_absl.cc checks that it fits. */
struct peer_absl_mutex {
    unsigned char storage[32] __attribute__((aligned(16)));
};

void peer_absl_init(struct peer_absl_mutex *m);
void peer_absl_destroy(struct peer_absl_mutex *m);
void peer_absl_lock(struct peer_absl_mutex *m);
void peer_absl_unlock(struct peer_absl_mutex *m);

#ifdef __cplusplus
}
#endif

#endif
