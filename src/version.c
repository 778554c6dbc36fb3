/* The library's version, as compiled (see cmake/version.h.in).
 *
 * SPDX-License-Identifier: MIT
 */
#include "cthreading/version.h"

const char *ct_version(void)
{
    return CT_VERSION_STRING;
}
