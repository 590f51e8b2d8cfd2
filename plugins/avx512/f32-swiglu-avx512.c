/* f32-swiglu/avx512: y = gate / (1 + exp(-gate)) * up, exp by ck512_exp
 * (~1-2 ULP), then one correctly rounded divide and multiply; the driver is
 * the one gated-avx512.inc shares with geglu. */
#include "avx512-helpers.h"
#include "avx512-kernels.h"

static inline __m512 swiglu16(__m512 g, __m512 u)
{
    return _mm512_mul_ps(_mm512_div_ps(g, ck512_one_plus_exp_neg(g)), u);
}

#define GATED_NAME swiglu
#define GATED_ACT16 swiglu16
#include "gated-avx512.inc"
