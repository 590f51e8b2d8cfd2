/* geglu: y = gelu(gate) * up, gelu's tanh form through the shared
 * avx2_gelu_ps (x / (1 + exp(-2u)), no cancellation for negative gate),
 * then one correctly rounded multiply; the driver is gated-avx2.inc's. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

static inline __m256 geglu8(__m256 g, __m256 u)
{
    return _mm256_mul_ps(avx2_gelu_ps(g), u);
}

#define GATED_NAME geglu
#define GATED_ACT8 geglu8
#include "gated-avx2.inc"
