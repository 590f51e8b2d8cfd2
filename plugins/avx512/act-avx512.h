/* act-avx512.h — the vector bodies of the gated and plain activations
 * (swiglu, gelu, geglu), shared by their own kernels and by the fused
 * act_down, which must give the same bits. Both are x / (1 + exp(m)):
 * swiglu with m = -x, gelu with m = -2u (no cancellation for either sign).
 *
 * A cold prefill activation (T = 2048, 14336 columns) streams 8-12 bytes
 * per element, and at the DRAM roof of one core that leaves ~11 cycles per
 * 16 lanes; ck512_exp and the divide took ~15 here (Zen 5, 26 vector ops),
 * so gelu ran at 71% of the roof. This exp is cut for the sigmoid: the
 * argument is clamped to +-104 as ck512_exp does (beyond 88.7 the result is
 * +inf and x / inf the signed zero the ops promise), ln2 is one f32
 * constant (its error, n * 1.9e-9, is at most 0.13 ulp while n <= 4, and
 * where n is large exp(m) either vanishes next to 1 or makes y tiny, where
 * the tolerance is absolute), and exp(r) on |r| <= ln2/2 is a degree-6
 * polynomial (Chebyshev nodes, 0.34 ulp with f32 coefficients) against
 * ck512_exp's degree 7. gelu's argument is x * (k0 + k1 x^2) with the
 * factor -2c folded into the constants: 3 operations instead of 6. 17
 * vector operations per 16 gelu lanes: 2.37 ns against 3.54 (swiglu 2.0
 * against 2.56) in a loop over 32 KiB in L1, best of 300, on this VM. The
 * divide stays: rcp14 and a Newton step were slower here (Zen 5 divides a
 * zmm in ~2.5 cycles). */
#ifndef CK_ACT_AVX512_H
#define CK_ACT_AVX512_H

#include "avx512-helpers.h"

/* 1 + exp(m) for 16 lanes. */
static inline __m512 ck512_one_plus_exp_fast(__m512 m)
{
    m = _mm512_min_ps(_mm512_max_ps(m, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(104.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(m, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693147182464599609375f), m);
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
    const __m512 k0 = _mm512_set1_ps(-1.5957691216057308f);                     /* -2c */
    const __m512 k1 = _mm512_set1_ps(-0.07135481627260025f);                    /* -2c * 0.044715 */
    __m512 m = _mm512_mul_ps(x, _mm512_fmadd_ps(_mm512_mul_ps(x, x), k1, k0));
    return _mm512_div_ps(x, ck512_one_plus_exp_fast(m));
}

#endif /* CK_ACT_AVX512_H */
