/* f32-gelu_erf/avx512, the exact gelu y = x Phi(x), through the one
 * approximation of plugins/shared/gelu_erf-poly.h:
 *   P = Phi(-|x|) = exp(-x^2 / 2) s Q(s),  s = 4 / (4 + |x|)
 *   y = x P (x < 0),  x (1 - P) (x >= 0),  both as max(x, 0) - |x| P
 * x^2 is split into hi + lo with an FMA so that exp's argument carries no
 * rounding of its own (for |x| = 13, hi alone would cost exp 85 u). |x| is
 * clamped to 16 first: P < FLT_MIN from 13.2 on, and an unclamped x^2
 * overflows for |x| > 1.8e19 (lo would be -inf, and -inf * 0 NaN); so
 * y = x for x > 16 and -0 (or a subnormal of exp's) for x < -16. Same
 * lanes in the body and the masked tail.
 * y may alias x; a large y is written with streaming stores. */
#include "avx512-helpers.h"
#include "avx512-kernels.h"
#include "gelu_erf-poly.h"

static inline __m512 gelu_erf16(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f), k = _mm512_set1_ps(CK_GERF_K);
    __m512 a = _mm512_min_ps(_mm512_abs_ps(x), _mm512_set1_ps(16.0f)); /* a NaN x becomes 16: y = x * ... stays NaN */
    __m512 hi = _mm512_mul_ps(a, a), lo = _mm512_fmsub_ps(a, a, hi);
    __m512 e = ck512_exp(_mm512_mul_ps(_mm512_set1_ps(-0.5f), hi));
    e = _mm512_fnmadd_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), lo), e, e); /* exp(-lo / 2) ~ 1 - lo / 2 */
    /* s = 4 / (4 + a) by rcp14 and one Newton step (within 1.6 u, as a
     * division's s nearly: P's worst error over [0, 13.1] is 10.4 u either
     * way), because a zmm division costs more than the rest of this body */
    __m512 d = _mm512_add_ps(k, a), r = _mm512_rcp14_ps(d);
    r = _mm512_fmadd_ps(_mm512_fnmadd_ps(d, r, one), r, r);
    __m512 s = _mm512_mul_ps(k, r);
    __m512 q = _mm512_set1_ps(CK_GERF_Q9);
    q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(CK_GERF_Q8));
    q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(CK_GERF_Q7));
    q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(CK_GERF_Q6));
    q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(CK_GERF_Q5));
    q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(CK_GERF_Q4));
    q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(CK_GERF_Q3));
    q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(CK_GERF_Q2));
    q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(CK_GERF_Q1));
    q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(CK_GERF_Q0));
    __m512 p = _mm512_mul_ps(_mm512_mul_ps(q, s), e);
    /* max(0, x) returns x when both are zero: -0 stays -0 */
    return _mm512_fnmadd_ps(_mm512_abs_ps(x), p, _mm512_max_ps(_mm512_setzero_ps(), x));
}

CK512_DEFINE_UNARY(ck_avx512_f32_gelu_erf, gelu_erf16)
