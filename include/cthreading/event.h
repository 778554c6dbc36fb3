/* cthreading — event (placeholder: the module is being written).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CTHREADING_EVENT_H
#define CTHREADING_EVENT_H

#include "base.h"

#endif /* CTHREADING_EVENT_H */
