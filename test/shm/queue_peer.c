/* A second program for the ShmQueue cross-process tests: opens the region by
 * name (mapped at its own address) and plays one role of
 * test/shm/queue_roles.h.  Usage: shm_queue_peer NAME produce P N |
 * consume N | shutdown; the exit status is the role's result (0: every
 * check held).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "queue_roles.h"

int main(int argc, char **argv)
{
    ct_shm_t r;
    struct qarena *a;
    int rc;

    if (argc < 3) {
        fprintf(stderr, "usage: shm_queue_peer NAME produce P N | consume N | shutdown\n");
        return 64;
    }
    if ((rc = ct_shm_open(&r, argv[1])) != CT_OK) {
        fprintf(stderr, "shm_queue_peer: ct_shm_open(%s): %s\n", argv[1], ct_strerror(rc));
        return 65;
    }
    if (ct_shm_size(&r) < QARENA_BYTES)
        return 66;
    a = ct_shm_base(&r);
    if (strcmp(argv[2], "produce") == 0 && argc > 4)
        rc = qrole_produce(a, (uint32_t)atoi(argv[3]), atoi(argv[4]));
    else if (strcmp(argv[2], "consume") == 0 && argc > 3)
        rc = qrole_consume(a, atoi(argv[3]));
    else if (strcmp(argv[2], "shutdown") == 0)
        rc = qrole_await_shutdown(a);
    else
        rc = 67;
    if (rc > 63)
        rc = 63;
    (void)ct_shm_close(&r);
    return rc;
}
