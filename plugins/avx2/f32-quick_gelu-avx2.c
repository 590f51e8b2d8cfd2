/* f32-quick_gelu/avx2, CLIP's activation
 *   y = x sigmoid(1.702 x) = x / (1 + exp(-1.702 x))
 * in the quotient form (no cancellation for either sign), with the
 * logistic exp of avx2-helpers.h: +inf beyond exp's range gives y = -0 for
 * x << 0, y = x for x >> 0. Same lane arithmetic in the body and the masked
 * tail. y may alias x; a large, not in-place y is written with streaming
 * stores. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

static inline __m256 quick_gelu8(__m256 x)
{
    __m256 e = avx2_exp_logistic_ps(_mm256_mul_ps(_mm256_set1_ps(-1.702f), x));
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

AVX2_DEFINE_UNARY(ck_avx2_f32_quick_gelu, quick_gelu8)
