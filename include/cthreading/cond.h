/* cthreading — cond (placeholder: the module is being written).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_COND_H
#define CTHREADING_COND_H

#include "base.h"

#endif /* CTHREADING_COND_H */
