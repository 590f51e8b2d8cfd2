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

/* Lane c of the result: the max (or, as integers, the sum) over the lanes of
 * v[c], c = 0..15; exact in any order. A transpose tree: each level halves
 * the vectors and the lanes per source. */
CK_QVNNI_TARGET __m512 tree16_ps(__m512 v[16], int add)
{
#define CK_QACTS_OP(a, b)                                                                                              \
    (add ? _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(a), _mm512_castps_si512(b))) : _mm512_max_ps(a, b))
    for (int k = 0; k < 8; k++) /* chunks 0-1: v[2k]'s halves combined, 2-3: v[2k + 1]'s */
        v[k] = CK_QACTS_OP(_mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                           _mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    for (int k = 0; k < 4; k++) /* chunk c: v[4k + c], four lanes */
        v[k] = CK_QACTS_OP(_mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                           _mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    for (int k = 0; k < 2; k++) /* chunk c, lanes 0-1: v[8k + c], lanes 2-3: v[8k + 4 + c] */
        v[k] = CK_QACTS_OP(_mm512_shuffle_ps(v[2 * k], v[2 * k + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                           _mm512_shuffle_ps(v[2 * k], v[2 * k + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    /* lane 4c + j: v[4j + c] */
    __m512 r = CK_QACTS_OP(_mm512_shuffle_ps(v[0], v[1], _MM_SHUFFLE(2, 0, 2, 0)),
                           _mm512_shuffle_ps(v[0], v[1], _MM_SHUFFLE(3, 1, 3, 1)));
#undef CK_QACTS_OP
    return _mm512_permutexvar_ps(_mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0), r);
}

/* The codes of block x (32 values) with the reciprocal id, into xq and, when
 * rec is not NULL, into row i of its record; returns q0 + q1 lane by lane. */
CK_QVNNI_TARGET __m512i block_codes(const float *x, float id, int8_t *qs, unsigned char *rec, size_t i)
{
    __m512i q0 = round_half_away16(_mm512_mul_ps(_mm512_loadu_ps(x), _mm512_set1_ps(id)));
    __m512i q1 = round_half_away16(_mm512_mul_ps(_mm512_loadu_ps(x + 16), _mm512_set1_ps(id)));
    __m128i c0 = _mm512_cvtepi32_epi8(q0), c1 = _mm512_cvtepi32_epi8(q1); /* (int8_t) truncation */
    _mm_storeu_si128((__m128i *)(void *)qs, c0);
    _mm_storeu_si128((__m128i *)(void *)(qs + 16), c1);
    if (rec) {
        _mm_storeu_si128((__m128i *)(void *)(rec + CK_QBLOCK * i), c0);
        _mm_storeu_si128((__m128i *)(void *)(rec + CK_QBLOCK * i + 16), c1);
    }
    return _mm512_add_epi32(q0, q1);
}

/* Sixteen blocks at once: their amax, d, 1/d and f16 scales as vectors
 * (vdivps and vcvtps2ph round as the reference's scalar division and
 * ck_f32_to_f16 do, the latter checked against every f32 below 2^17), and
 * the code sums reduced together. The one-block loop below spent most of
 * its time in per-block scalar steps and horizontal reductions. */
CK_QVNNI_TARGET void sixteen_blocks(const float *x, ck_block_q8_0 *xq, unsigned char *rec, size_t i)
{
    __m512 m[16];
    for (int c = 0; c < 16; c++) {
        __m512 a = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + CK_QBLOCK * c)), _mm512_setzero_ps());
        m[c] = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + CK_QBLOCK * c + 16)), a);
    }
    const __m512 d = _mm512_div_ps(tree16_ps(m, 0), _mm512_set1_ps(127.0f));
    const __m512 id =
        _mm512_maskz_div_ps(_mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_NEQ_OQ), _mm512_set1_ps(1.0f), d);
    const __m256i h = _mm512_cvtps_ph(d, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    uint16_t hs[16];
    float ids[16], dfs[16];
    int32_t sums[16];
    _mm256_storeu_si256((__m256i *)(void *)hs, h);
    _mm512_storeu_ps(ids, id);
    _mm512_storeu_ps(dfs, _mm512_cvtph_ps(h));
    __m512 s[16];
    for (int c = 0; c < 16; c++) {
        xq[c].d = hs[c];
        s[c] = _mm512_castsi512_ps(
            block_codes(x + CK_QBLOCK * c, ids[c], xq[c].qs, rec ? rec + c * CK_QXG_BYTES : NULL, i));
    }
    if (!rec)
        return;
    _mm512_storeu_si512(sums, _mm512_castps_si512(tree16_ps(s, 1)));
    for (int c = 0; c < 16; c++) {
        memcpy(rec + c * CK_QXG_BYTES + 256 + 4 * i, &sums[c], sizeof sums[c]);
        memcpy(rec + c * CK_QXG_BYTES + 288 + 4 * i, &dfs[c], sizeof dfs[c]);
    }
}

__attribute__((target(CK_QVNNI_TARGET_STR))) void
ck_quant_q8_0_acts_avx512vnni(const float *x, size_t nb, ck_block_q8_0 *xq, unsigned char *rec, size_t i)
{
    size_t b = 0;
    for (; b + 16 <= nb; b += 16)
        sixteen_blocks(x + CK_QBLOCK * b, xq + b, rec ? rec + b * CK_QXG_BYTES : NULL, i);
    for (; b < nb; b++) {
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
