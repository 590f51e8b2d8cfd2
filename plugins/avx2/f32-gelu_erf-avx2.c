/* f32-gelu_erf/avx2, the exact gelu y = x Phi(x), through the one
 * approximation of plugins/shared/gelu_erf-poly.h:
 *   P = Phi(-|x|) = exp(-x^2 / 2) s Q(s),  s = 4 / (4 + |x|)
 *   y = x P (x < 0),  x (1 - P) (x >= 0),  both as max(x, 0) - |x| P
 * |x| clamped to 16 (P < FLT_MIN from 13.2 on; x^2 must not overflow), x^2
 * split into hi + lo with an FMA so that exp's argument is exact to second
 * order (f32-gelu_erf-avx512.c says why). exp gives 0 below FLT_MIN here,
 * which the error model allows. Same lane arithmetic in the body and the
 * masked tail. y may alias x; a large, not in-place y is written with
 * streaming stores. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"
#include "gelu_erf-poly.h"

static inline __m256 gelu_erf8(__m256 x)
{
    const __m256 k = _mm256_set1_ps(CK_GERF_K);
    /* min returns its second operand for a NaN x: 16; max(0, x) below keeps the NaN */
    __m256 a = _mm256_min_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), _mm256_set1_ps(16.0f));
    __m256 hi = _mm256_mul_ps(a, a), lo = _mm256_fmsub_ps(a, a, hi);
    __m256 e = avx2_exp_ps(_mm256_mul_ps(_mm256_set1_ps(-0.5f), hi));
    e = _mm256_fnmadd_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), lo), e, e); /* exp(-lo / 2) ~ 1 - lo / 2 */
    __m256 s = _mm256_div_ps(k, _mm256_add_ps(k, a));
    __m256 q = _mm256_set1_ps(CK_GERF_Q9);
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q8));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q7));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q6));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q5));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q4));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q3));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q2));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q1));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q0));
    __m256 p = _mm256_mul_ps(_mm256_mul_ps(q, s), e);
    /* max(0, x) returns x when both are zero (-0 stays -0) or x is NaN */
    return _mm256_fnmadd_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), p, _mm256_max_ps(_mm256_setzero_ps(), x));
}

AVX2_DEFINE_UNARY(ck_avx2_f32_gelu_erf, gelu_erf8)
