/* gelu (tanh form), f32, NEON:
 *   y = 0.5*x*(1 + tanh(0.7978845608028654*(x + 0.044715*x^3)))
 * with the vectorised tanh of neon-common.h; tails through a padded vector so
 * every element uses the same code. y may alias x. */
#include "neon-common.h"

#define GRAIN 1024

static float32x4_t gelu4(float32x4_t x)
{
    float32x4_t x3 = vmulq_f32(vmulq_f32(x, x), x);
    float32x4_t u = vmulq_f32(vdupq_n_f32(0.7978845608028654f), vfmaq_f32(x, vdupq_n_f32(0.044715f), x3));
    float32x4_t t = ck_neon_tanh(u);
    return vmulq_f32(vmulq_f32(vdupq_n_f32(0.5f), x), vaddq_f32(vdupq_n_f32(1.0f), t));
}

CK_NEON_DEFINE_UNARY(ck_neon_f32_gelu, gelu4, GRAIN)
