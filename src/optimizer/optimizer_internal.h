/*
 * optimizer_internal.h - What the optimizer's files share beyond zeus/power_limit.h.
 */
#ifndef ZEUS_OPTIMIZER_INTERNAL_H
#define ZEUS_OPTIMIZER_INTERNAL_H

#include "zeus/power_limit.h"

/*
 * ZEUS_OK when the selector's kind and parameters are valid (the message names the bad one
 * otherwise), without selecting anything: a custom selector is not called.
 */
zeus_status zeus__plo_check_selector(const zeus_plo_selector *sel);

#endif /* ZEUS_OPTIMIZER_INTERNAL_H */
