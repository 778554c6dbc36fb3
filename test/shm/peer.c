/* A second program for the cross-process tests: opens the region by name
 * (a separate executable maps it at its own address) and plays one role of
 * test/shm/roles.h.  Usage: shm_peer NAME ROLE [N [THREADS]]; the exit
 * status is the role's result (0: every invariant held).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "roles.h"

int main(int argc, char **argv)
{
    ct_shm_t r;
    struct arena *a;
    int n, threads, rc;

    if (argc < 3) {
        fprintf(stderr, "usage: shm_peer NAME ROLE [N [THREADS]]\n");
        return 64;
    }
    n = argc > 3 ? atoi(argv[3]) : 1;
    threads = argc > 4 ? atoi(argv[4]) : 1;
    if ((rc = ct_shm_open(&r, argv[1])) != CT_OK) {
        fprintf(stderr, "shm_peer: ct_shm_open(%s): %s\n", argv[1], ct_strerror(rc));
        return 65;
    }
    if (ct_shm_size(&r) < sizeof *a)
        return 66;
    a = ct_shm_base(&r);
    if (strcmp(argv[2], "count") == 0)
        rc = role_count(a, threads, n);
    else if (strcmp(argv[2], "go") == 0)
        rc = role_go(a);
    else if (strcmp(argv[2], "barrier") == 0)
        rc = role_barrier(a, n);
    else if (strcmp(argv[2], "consume") == 0)
        rc = role_consume(a, n);
    else if (strcmp(argv[2], "hold") == 0)
        rc = role_hold(a);
    else
        rc = 67;
    (void)ct_shm_close(&r);
    return rc;
}
