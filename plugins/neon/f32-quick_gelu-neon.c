/* quick_gelu (CLIP's activation), f32, NEON:
 *   y = x sigmoid(1.702 x) = x / (1 + exp(-1.702 x))
 * in the quotient form (no cancellation for either sign), with the exp of
 * neon-common.h: its +inf for x << 0 gives y = -0. Tails go through a padded
 * vector so every element uses the same code. y may alias x. */
#include "neon-common.h"

#define GRAIN 1024

static float32x4_t quick_gelu4(float32x4_t x)
{
    float32x4_t e = ck_neon_exp(vmulq_f32(vdupq_n_f32(-1.702f), x));
    return vdivq_f32(x, vaddq_f32(vdupq_n_f32(1.0f), e));
}

CK_NEON_DEFINE_UNARY(ck_neon_f32_quick_gelu, quick_gelu4, GRAIN)
