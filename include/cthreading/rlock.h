/* cthreading — rlock (placeholder: the module is being written).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_RLOCK_H
#define CTHREADING_RLOCK_H

#include "base.h"

#endif /* CTHREADING_RLOCK_H */
