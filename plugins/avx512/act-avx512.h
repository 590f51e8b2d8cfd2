/* act-avx512.h — the vector bodies of the gated and plain activations
 * (swiglu, gelu, geglu, gelu_erf, quick_gelu), shared by their own kernels
 * and by the fused act_down, which must give the same bits. gelu_erf and
 * quick_gelu say their own forms below. swiglu and gelu are x / (1 + exp(m)):
 * swiglu with m = -x, gelu with m = -2u (no cancellation for either sign).
 *
 * Why not ck512_exp: a cold prefill activation (T = 2048, 14336 columns)
 * streams 8-12 bytes per element, which at one core's DRAM roof leaves ~11
 * cycles per 16 lanes, and gelu through ck512_exp and the divide took ~15
 * (26 vector operations), so it ran at 71% of the roof. Here:
 * - the argument is clamped to +-104 and ln2 split in two as in ck512_exp
 *   (one f32 ln2 would save an operation but errs by n * 1.9e-9: swiglu at
 *   gate -87.6 used 0.67 of its bound);
 * - exp(r) on |r| <= ln2/2 is a degree-6 polynomial (Chebyshev nodes, 0.34
 *   ulp with f32 coefficients) against ck512_exp's degree 7 (degree 5
 *   would save 0.1 ns more, a cold gelu 1.03-1.04x, but spends 0.55 of
 *   swiglu's bound and 0.39 of gelu's);
 * - gelu's -2u is x * (k0 + k1 x^2) with -2c folded into the constants:
 *   3 operations instead of 6;
 * - the divide stays: rcp14 and a Newton step were slower here (Zen 5
 *   divides a zmm in ~2.5 cycles).
 * 18 vector operations per 16 gelu lanes: 2.4 ns against 3.3-3.5 (swiglu
 * 2.1 against 2.4-2.5), over 32 KiB in L1, best of 300, on this VM; over
 * dense sweeps the worst error is the same fraction of the ops' bounds as
 * before (gelu 0.30, swiglu 0.40). */
#ifndef CK_ACT_AVX512_H
#define CK_ACT_AVX512_H

#include "avx512-helpers.h"
#include "gelu_erf-poly.h"

/* 1 + exp(m) for 16 lanes. */
static inline __m512 ck512_one_plus_exp_fast(__m512 m)
{
    m = _mm512_min_ps(_mm512_max_ps(m, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(104.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(m, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), m);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(1.3941108482e-03f), r, _mm512_set1_ps(8.3751259372e-03f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1666351259e-02f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666415334e-01f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_scalef_ps(p, n));
}

/* silu(g) * u = g / (1 + exp(-g)) * u */
static inline __m512 ck512_swiglu16(__m512 g, __m512 u)
{
    __m512 d = ck512_one_plus_exp_fast(_mm512_sub_ps(_mm512_setzero_ps(), g));
    return _mm512_mul_ps(_mm512_div_ps(g, d), u);
}

/* gelu, tanh form: x / (1 + exp(-2u)), -2u = x (k0 + k1 x^2) */
static inline __m512 ck512_gelu16(__m512 x)
{
    const __m512 k0 = _mm512_set1_ps(-1.5957691216057308f);  /* -2c */
    const __m512 k1 = _mm512_set1_ps(-0.07135481627260025f); /* -2c * 0.044715 */
    __m512 m = _mm512_mul_ps(x, _mm512_fmadd_ps(_mm512_mul_ps(x, x), k1, k0));
    return _mm512_div_ps(x, ck512_one_plus_exp_fast(m));
}

/* The exact gelu y = x Phi(x), through the one approximation of
 * plugins/shared/gelu_erf-poly.h:
 *   P = Phi(-|x|) = exp(-x^2 / 2) s Q(s),  s = 4 / (4 + |x|)
 *   y = x P (x < 0),  x (1 - P) (x >= 0),  both as max(x, 0) - |x| P
 * x^2 is split into hi + lo with an FMA so that exp's argument carries no
 * rounding of its own (for |x| = 13, hi alone would cost exp 85 u). |x| is
 * clamped to 16 first: P < FLT_MIN from 13.2 on, and an unclamped x^2
 * overflows for |x| > 1.8e19 (lo would be -inf, and -inf * 0 NaN); so
 * y = x for x > 16 and -0 (or a subnormal of exp's) for x < -16. */
static inline __m512 ck512_gelu_erf16(__m512 x)
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

/* CLIP's y = x sigmoid(1.702 x) = x / (1 + exp(-1.702 x)), in the quotient
 * form (no cancellation for either sign, as swiglu's silu), with the shared
 * vector exp: +inf beyond exp's range gives y = -0 for x << 0 and y = x for
 * x >> 0. */
static inline __m512 ck512_quick_gelu16(__m512 x)
{
    return _mm512_div_ps(x, ck512_one_plus_exp_neg(_mm512_mul_ps(_mm512_set1_ps(1.702f), x)));
}

#endif /* CK_ACT_AVX512_H */
