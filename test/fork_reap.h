/* Reaping a forked test child within a bound (POSIX only; test-only).
 * Shared by test/test_fork.c and test/stress/torture_fork.c.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_TEST_FORK_REAP_H
#define CT_TEST_FORK_REAP_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cthreading.h>
#include "helpers.h"   /* t_pause */

/* Code ct_test_reap returns for a child that hung (was killed). */
#define CT_TEST_REAP_HUNG 2000

/* Waits for child `pid` up to limit_ns (polling every poll_ns); kills a child
 * that hangs.  Returns its exit status, 1000 + signal if it died of a signal,
 * CT_TEST_REAP_HUNG if it hung, 3000 if waitpid failed or the status is
 * neither. */
static inline int ct_test_reap(pid_t pid, int64_t limit_ns, int64_t poll_ns)
{
    int64_t end = ct_now_ns() + limit_ns;
    int status;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0)
            return 3000;
        if (ct_now_ns() > end) {
            kill(pid, SIGKILL);
            (void)waitpid(pid, &status, 0);
            return CT_TEST_REAP_HUNG;
        }
        t_pause(poll_ns);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 1000 + WTERMSIG(status) : 3000;
}

#endif
