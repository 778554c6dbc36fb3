/* cthreading — barrier (placeholder: the module is being written).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_BARRIER_H
#define CTHREADING_BARRIER_H

#include "base.h"

#endif /* CTHREADING_BARRIER_H */
