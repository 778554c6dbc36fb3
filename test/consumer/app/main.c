/* The consumer: four threads count to a total under one ct_lock_t, through
 * the umbrella header only, and the version macros match ct_version() (and
 * CT_EXPECT_VERSION, the source tree's version, when the build passes it).
 * Exits 0 and prints "consumer ok" when the library links and behaves;
 * anything else is a failure.
 *
 * SPDX-License-Identifier: MIT
 */
#include <cthreading.h>
#include <stdio.h>
#include <string.h>

enum { THREADS = 4, ROUNDS = 20000 };

static ct_lock_t lock = CT_LOCK_INIT;
static long counter;

static void count(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        ct_lock_acquire(&lock);
        counter++;
        ct_lock_release(&lock);
    }
}

int main(void)
{
    ct_thread_t threads[THREADS];
    int failures = 0;

    for (int i = 0; i < THREADS; i++)
        if (ct_thread_start(&threads[i], count, NULL) != CT_OK) {
            fprintf(stderr, "consumer: ct_thread_start failed\n");
            return 1;
        }
    for (int i = 0; i < THREADS; i++)
        if (ct_thread_join(&threads[i], CT_FOREVER) != CT_OK)
            failures++;
    if (counter != (long)THREADS * ROUNDS) {
        fprintf(stderr, "consumer: counted %ld, expected %ld\n", counter, (long)THREADS * ROUNDS);
        failures++;
    }
    ct_lock_acquire(&lock);
    if (ct_lock_acquire_timed(&lock, CT_MS(1)) != CT_ETIMEDOUT)
        failures++;
    if (ct_lock_release(&lock) != CT_OK || ct_lock_release(&lock) != CT_EPERM)
        failures++;
    if (strncmp(ct_strerror(CT_ETIMEDOUT), "CT_ETIMEDOUT", 12) != 0)
        failures++;
    /* The headers, the library and the build agree on the version. */
    if (strcmp(CT_VERSION_STRING, ct_version()) != 0) {
        fprintf(stderr, "consumer: headers say %s, library %s\n", CT_VERSION_STRING, ct_version());
        failures++;
    }
#ifdef CT_EXPECT_VERSION
    if (strcmp(CT_VERSION_STRING, CT_EXPECT_VERSION) != 0) {
        fprintf(stderr, "consumer: headers say %s, expected %s\n", CT_VERSION_STRING,
                CT_EXPECT_VERSION);
        failures++;
    }
#endif
    if (failures) {
        fprintf(stderr, "consumer: %d failure(s)\n", failures);
        return 1;
    }
    printf("consumer ok: cthreading %s, %ld increments from %d threads\n", ct_version(), counter,
           THREADS);
    return 0;
}
