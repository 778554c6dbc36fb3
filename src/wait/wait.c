/* ct_wait: the public, relative-timeout face of the backend's ct__wait_until.
 *
 * SPDX-License-Identifier: MIT
 */
#include <assert.h>
#include <stddef.h>
#include "wait.h"
#include "../internal/atomic.h"

int ct_wait(const uint32_t *addr, uint32_t expected, int64_t timeout_ns)
{
    int64_t deadline;
    int rc;

    assert(addr != NULL);
    rc = ct__deadline_after(timeout_ns, &deadline);
    if (rc != CT_OK)
        return rc;
    if (timeout_ns == 0)
        return ct__load_acquire(CT__A32(addr)) == expected ? CT_ETIMEDOUT : CT_OK;
    return ct__wait_until(addr, expected, deadline);
}
