/* cthreading — timer (placeholder: the module is being written).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_TIMER_H
#define CTHREADING_TIMER_H

#include "base.h"

#endif /* CTHREADING_TIMER_H */
