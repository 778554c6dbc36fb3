/* Built-in runner, POSIX hooks: none.  A crash kills the process with its
 * signal, which ctest reports as a failure; catching SIGSEGV/SIGABRT here
 * would get in the way of the sanitizers' own reports.
 *
 * SPDX-License-Identifier: MIT
 */
#include "mini_criterion.h"

void ct_test_os_init(void) {}
