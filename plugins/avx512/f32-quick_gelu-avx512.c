/* f32-quick_gelu/avx512, CLIP's activation
 *   y = x sigmoid(1.702 x) = x / (1 + exp(-1.702 x))
 * in the quotient form (no cancellation for either sign, as swiglu's silu),
 * with the shared vector exp: +inf beyond exp's range gives y = -0 for
 * x << 0 and y = x for x >> 0. Same lanes in the body and the masked tail.
 * y may alias x; a large y is written with streaming stores. */
#include "avx512-helpers.h"
#include "avx512-kernels.h"

static inline __m512 quick_gelu16(__m512 x)
{
    return _mm512_div_ps(x, ck512_one_plus_exp_neg(_mm512_mul_ps(_mm512_set1_ps(1.702f), x)));
}

CK512_DEFINE_UNARY(ck_avx512_f32_quick_gelu, quick_gelu16)
