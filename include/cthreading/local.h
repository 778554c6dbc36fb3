/* cthreading — local (placeholder: the module is being written).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_LOCAL_H
#define CTHREADING_LOCAL_H

#include "base.h"

#endif /* CTHREADING_LOCAL_H */
