/* Return codes -> names.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>

#include "cthreading/base.h"
#include "internal/fatal.h"

void ct__fatal(const char *call, long err)
{
    fprintf(stderr, "cthreading: %s failed unexpectedly (error %ld)\n", call, err);
    abort();
}

const char *ct_strerror(int code)
{
    switch (code) {
    case CT_OK:        return "CT_OK: success";
    case CT_ETIMEDOUT: return "CT_ETIMEDOUT: timed out";
    case CT_EPERM:     return "CT_EPERM: operation not permitted (not held by the caller)";
    case CT_EINVAL:    return "CT_EINVAL: invalid argument";
    case CT_EBROKEN:   return "CT_EBROKEN: barrier is broken";
    case CT_EOVERFLOW: return "CT_EOVERFLOW: value too large";
    case CT_ENOMEM:    return "CT_ENOMEM: out of memory";
    case CT_EDEADLK:   return "CT_EDEADLK: would deadlock (already held by the caller)";
    case CT_EAGAIN:    return "CT_EAGAIN: resource temporarily unavailable";
    case CT_EBUSY:     return "CT_EBUSY: object still in use (nothing destroyed)";
    case CT_ESHUTDOWN: return "CT_ESHUTDOWN: shut down";
    case CT_ECANCELLED: return "CT_ECANCELLED: cancelled";
    case CT_EOWNERDEAD: return "CT_EOWNERDEAD: previous owner died holding it";
    case CT_ENOTSUP:   return "CT_ENOTSUP: not supported on this platform or wait backend";
    default:           return "unknown cthreading error";
    }
}
