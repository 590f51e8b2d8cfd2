/* gelu_erf (the exact gelu), f32, NEON: y = x Phi(x) through the one
 * approximation of plugins/shared/gelu_erf-poly.h:
 *   P = Phi(-|x|) = exp(-x^2 / 2) s Q(s),  s = 4 / (4 + |x|)
 *   y = x P (x < 0),  x (1 - P) (x >= 0),  both as max(x, 0) - |x| P
 * |x| clamped to 16 (P < FLT_MIN from 13.2 on; x^2 must not overflow), x^2
 * split into hi + lo with an FMA so that exp's argument is exact to second
 * order. Tails go through a padded vector so every element uses the same
 * code. y may alias x. */
#include "gelu_erf-poly.h"
#include "neon-common.h"

#define GRAIN 1024

static float32x4_t gelu_erf4(float32x4_t x)
{
    const float32x4_t k = vdupq_n_f32(CK_GERF_K);
    float32x4_t a = vminq_f32(vabsq_f32(x), vdupq_n_f32(16.0f));           /* a NaN stays NaN */
    float32x4_t hi = vmulq_f32(a, a), lo = vnegq_f32(vfmsq_f32(hi, a, a)); /* lo = a a - hi, exactly */
    float32x4_t e = ck_neon_exp(vmulq_f32(vdupq_n_f32(-0.5f), hi));
    e = vfmsq_f32(e, vmulq_f32(vdupq_n_f32(0.5f), lo), e); /* exp(-lo / 2) ~ 1 - lo / 2 */
    float32x4_t s = vdivq_f32(k, vaddq_f32(k, a));
    float32x4_t q = vdupq_n_f32(CK_GERF_Q9);
    q = vfmaq_f32(vdupq_n_f32(CK_GERF_Q8), q, s);
    q = vfmaq_f32(vdupq_n_f32(CK_GERF_Q7), q, s);
    q = vfmaq_f32(vdupq_n_f32(CK_GERF_Q6), q, s);
    q = vfmaq_f32(vdupq_n_f32(CK_GERF_Q5), q, s);
    q = vfmaq_f32(vdupq_n_f32(CK_GERF_Q4), q, s);
    q = vfmaq_f32(vdupq_n_f32(CK_GERF_Q3), q, s);
    q = vfmaq_f32(vdupq_n_f32(CK_GERF_Q2), q, s);
    q = vfmaq_f32(vdupq_n_f32(CK_GERF_Q1), q, s);
    q = vfmaq_f32(vdupq_n_f32(CK_GERF_Q0), q, s);
    float32x4_t p = vmulq_f32(vmulq_f32(q, s), e);
    /* vmaxq: max(0, -0) is +0 and y would lose -0's sign; select x there */
    float32x4_t pos = vbslq_f32(vcltq_f32(x, vdupq_n_f32(0.0f)), vdupq_n_f32(0.0f), x);
    return vfmsq_f32(pos, vabsq_f32(x), p);
}

CK_NEON_DEFINE_UNARY(ck_neon_f32_gelu_erf, gelu_erf4, GRAIN)
