/* f32-swiglu/avx512: y = gate / (1 + exp(-gate)) * up, through
 * act-avx512.h's body (exp within ~1-2 ULP, one correctly rounded divide and
 * multiply); the driver is the one gated-avx512.inc shares with geglu. */
#include "act-avx512.h"
#include "avx512-kernels.h"

#define GATED_NAME swiglu
#define GATED_ACT16 ck512_swiglu16
#include "gated-avx512.inc"
