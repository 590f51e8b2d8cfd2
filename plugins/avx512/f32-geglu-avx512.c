/* f32-geglu/avx512: y = gelu(gate) * up, gelu's tanh form through
 * act-avx512.h's ck512_gelu16 (as f32-gelu), then one correctly rounded
 * multiply; the driver is gated-avx512.inc's. */
#include "act-avx512.h"
#include "avx512-kernels.h"

static inline __m512 geglu16(__m512 g, __m512 u)
{
    return _mm512_mul_ps(ck512_gelu16(g), u);
}

#define GATED_NAME geglu
#define GATED_ACT16 geglu16
#include "gated-avx512.inc"
