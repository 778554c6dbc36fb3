/* cthreading — gil (placeholder: the module is being written).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_GIL_H
#define CTHREADING_GIL_H

#include "base.h"

#endif /* CTHREADING_GIL_H */
