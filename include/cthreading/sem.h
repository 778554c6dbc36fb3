/* cthreading — sem (placeholder: the module is being written).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_SEM_H
#define CTHREADING_SEM_H

#include "base.h"

#endif /* CTHREADING_SEM_H */
