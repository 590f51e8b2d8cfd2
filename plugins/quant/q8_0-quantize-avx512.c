/* The activation quantiser of the avx512vnni path: ck_q8_0_quantize_row_ref's
 * bits, sixteen lanes at a time. The reference's scalar loop is on every
 * decode linear's critical path (one thread quantises while the others
 * wait), and at K = 4096 it took 4.3 us of a q4_0 4096 x 4096 matvec that
 * reads its weights from DRAM in 260 us on one thread, 130 on two.
 *
 * Same bits: the max of |x| is exact in any order (a NaN lane loses to the
 * running max, as the reference's `>` ignores it); d, 1/d and the f16 scale
 * are the reference's scalar code; x * id is one f32 multiply; the rounding
 * is the reference's truncate, compare the fraction with +-1/2 and step,
 * and vpmovdb keeps the low byte as its (int8_t) cast does (vcvttps2dq and
 * cvttss2si give the same 0x80000000 for a NaN product). */
#if defined(__x86_64__)
#include "quant-avx512.h"

/* Sixteen codes of v * id. */
CK_QVNNI_TARGET __m128i q8_0_codes16(__m512 v, __m512 id)
{
    const __m512 half = _mm512_set1_ps(0.5f), mhalf = _mm512_set1_ps(-0.5f);
    const __m512i one = _mm512_set1_epi32(1);
    __m512 p = _mm512_mul_ps(v, id);
    __m512i i = _mm512_cvttps_epi32(p);
    __m512 frac = _mm512_sub_ps(p, _mm512_cvtepi32_ps(i));
    i = _mm512_mask_add_epi32(i, _mm512_cmp_ps_mask(frac, half, _CMP_GE_OQ), i, one);
    i = _mm512_mask_sub_epi32(i, _mm512_cmp_ps_mask(frac, mhalf, _CMP_LE_OQ), i, one);
    return _mm512_cvtepi32_epi8(i);
}

__attribute__((target(CK_QVNNI_TARGET_STR))) void ck_quant_q8_0_quantize_row_avx512(const float *x, ck_block_q8_0 *y,
                                                                                    size_t n)
{
    for (size_t b = 0; b < n / CK_QBLOCK; b++) {
        const float *xb = x + b * CK_QBLOCK;
        __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
        /* vmaxps returns its second operand where either is a NaN */
        __m512 m = _mm512_max_ps(_mm512_abs_ps(v1), _mm512_setzero_ps());
        m = _mm512_max_ps(_mm512_abs_ps(v0), m);
        const float amax = _mm512_reduce_max_ps(m);
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = ck_f32_to_f16(d);
        const __m512 idv = _mm512_set1_ps(id);
        _mm_storeu_si128((__m128i *)(void *)y[b].qs, q8_0_codes16(v0, idv));
        _mm_storeu_si128((__m128i *)(void *)(y[b].qs + 16), q8_0_codes16(v1, idv));
    }
}
#endif
