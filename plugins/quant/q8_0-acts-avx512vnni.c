/* The activation quantiser of the AVX-512 VNNI path: Q8_0 per row, the bits
 * of ck_q8_0_quantize_row_ref (plugins/shared/quant/), sixteen values per
 * instruction, writing the row's blocks and, for the gemm kernels, its
 * lines of the driver's group records (quant-ref.h) in the same pass. On
 * a prefill the reference quantiser took about a tenth of the gemm time.
 *
 * Same bits: amax is a max over |x| (exact, in any order; NaN skipped as
 * the reference's compare skips it), d, 1/d and the f16 scale are the
 * reference's scalar code per block, x * id is one IEEE multiply, and the
 * rounding is the reference's (truncate, then compare the exact remainder
 * with 1/2), lane by lane. */
#if defined(__x86_64__)
#include "quant-avx512.h"

CK_QVNNI_TARGET __m512i round_half_away16(__m512 v)
{
    const __m512i one = _mm512_set1_epi32(1);
    __m512i i = _mm512_cvttps_epi32(v);
    __m512 frac = _mm512_sub_ps(v, _mm512_cvtepi32_ps(i));
    i = _mm512_mask_add_epi32(i, _mm512_cmp_ps_mask(frac, _mm512_set1_ps(0.5f), _CMP_GE_OQ), i, one);
    return _mm512_mask_sub_epi32(i, _mm512_cmp_ps_mask(frac, _mm512_set1_ps(-0.5f), _CMP_LE_OQ), i, one);
}

__attribute__((target(CK_QVNNI_TARGET_STR))) void
ck_quant_q8_0_acts_avx512vnni(const float *x, size_t nb, ck_block_q8_0 *xq, unsigned char *rec, size_t i)
{
    for (size_t b = 0; b < nb; b++) {
        __m512 x0 = _mm512_loadu_ps(x + CK_QBLOCK * b), x1 = _mm512_loadu_ps(x + CK_QBLOCK * b + 16);
        /* max(|x|, m) keeps m where |x| is NaN */
        __m512 m = _mm512_max_ps(_mm512_abs_ps(x0), _mm512_setzero_ps());
        m = _mm512_max_ps(_mm512_abs_ps(x1), m);
        const float amax = _mm512_reduce_max_ps(m);
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        xq[b].d = ck_f32_to_f16(d);
        __m512i q0 = round_half_away16(_mm512_mul_ps(x0, _mm512_set1_ps(id)));
        __m512i q1 = round_half_away16(_mm512_mul_ps(x1, _mm512_set1_ps(id)));
        __m128i c0 = _mm512_cvtepi32_epi8(q0), c1 = _mm512_cvtepi32_epi8(q1); /* (int8_t) truncation */
        _mm_storeu_si128((__m128i *)(void *)xq[b].qs, c0);
        _mm_storeu_si128((__m128i *)(void *)(xq[b].qs + 16), c1);
        if (!rec)
            continue;
        unsigned char *r = rec + b * CK_QXG_BYTES;
        /* the sum of the stored int8 codes */
        int32_t sum = _mm512_reduce_add_epi32(_mm512_add_epi32(_mm512_cvtepi8_epi32(c0), _mm512_cvtepi8_epi32(c1)));
        float df = ck_f16_to_f32(xq[b].d);
        _mm_storeu_si128((__m128i *)(void *)(r + CK_QBLOCK * i), c0);
        _mm_storeu_si128((__m128i *)(void *)(r + CK_QBLOCK * i + 16), c1);
        memcpy(r + 256 + 4 * i, &sum, sizeof sum);
        memcpy(r + 288 + 4 * i, &df, sizeof df);
    }
}
#endif
