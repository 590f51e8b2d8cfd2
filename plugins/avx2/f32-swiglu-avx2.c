/* swiglu: y = gate / (1 + exp(-gate)) * up, with the shared vector exp
 * (about 1 ULP); the driver (tails, streaming stores, threads) is the one
 * gated-avx2.inc shares with geglu. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

static inline __m256 swiglu8(__m256 g, __m256 u)
{
    __m256 e = avx2_exp_logistic_ps(_mm256_sub_ps(_mm256_setzero_ps(), g));
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

#define GATED_NAME swiglu
#define GATED_ACT8 swiglu8
#include "gated-avx2.inc"
