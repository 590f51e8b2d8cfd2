/* The prefill kernel of the AVX-512 VNNI path, shared by Q8_0 and Q4_0: a
 * tile repacked by ck_qvnni_pack_block (quant-avx512.h) against every
 * activation row. Lanes 0-7 of a 512-bit register are the tile's eight rows
 * for activation row t, lanes 8-15 the same rows for row t + 1; each block
 * takes eight vpdpbusd steps (two independent chains, even and odd steps,
 * added as integers) and then one reference accumulation step per lane, in
 * block order, so the bits are the reference's. Four pairs of activation
 * rows share each loaded weight step. */
#if defined(__x86_64__)
#include "quant-avx512.h"

#define PAIRS 4

/* Activation blocks b of rows ta (low half) and tb (high half), biased to
 * unsigned (x + 128; x is never -128). */
CK_QVNNI_TARGET __m512i biased_x(const ck_block_q8_0 *xq, size_t nb, size_t ta, size_t tb, size_t b)
{
    __m512i x = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)xq[ta * nb + b].qs)),
                                   _mm256_loadu_si256((const __m256i *)xq[tb * nb + b].qs), 1);
    return _mm512_xor_si512(x, _mm512_set1_epi8((char)0x80));
}

/* np (PAIRS or 1, a constant once inlined) pairs of activation rows from t0;
 * a pair's second row past T repeats its first. */
CK_QVNNI_TARGET void gemm_pairs(const unsigned char *packed, size_t nb, const ck_block_q8_0 *xq, size_t T,
                                size_t t0, const int np, float *out)
{
    __m512 acc[PAIRS];
    size_t ta[PAIRS], tb[PAIRS];
    for (int p = 0; p < np; p++) {
        acc[p] = _mm512_setzero_ps();
        ta[p] = t0 + 2 * (size_t)p;
        tb[p] = ta[p] + 1 < T ? ta[p] + 1 : ta[p];
    }
    for (size_t b = 0; b < nb; b++) {
        const unsigned char *blk = packed + b * CK_QVNNI_PACKED_BLOCK;
        const __m512i start = _mm512_broadcast_i64x4(_mm256_load_si256((const __m256i *)(blk + 256)));
        __m512i xu[PAIRS], even[PAIRS], odd[PAIRS];
        for (int p = 0; p < np; p++) {
            xu[p] = biased_x(xq, nb, ta[p], tb[p], b);
            even[p] = start;
            odd[p] = _mm512_setzero_si512();
        }
        for (int j = 0; j < CK_QBLOCK / 4; j++) {
            const __m512i w = _mm512_broadcast_i64x4(_mm256_load_si256((const __m256i *)(blk + 32 * j)));
            const __m512i pick = _mm512_set_epi32(8 + j, 8 + j, 8 + j, 8 + j, 8 + j, 8 + j, 8 + j, 8 + j, j, j, j, j,
                                                  j, j, j, j); /* dword j of each half */
            for (int p = 0; p < np; p++) {
                __m512i xj = _mm512_permutexvar_epi32(pick, xu[p]);
                if (j % 2 == 0)
                    even[p] = _mm512_dpbusd_epi32(even[p], xj, w);
                else
                    odd[p] = _mm512_dpbusd_epi32(odd[p], xj, w);
            }
        }
        const __m512 dw = _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_load_pd((const double *)(blk + 288))));
        for (int p = 0; p < np; p++) {
            __m512i isum = _mm512_add_epi32(even[p], odd[p]);
            __m256i dx16 = _mm256_set_m128i(_mm_set1_epi16((short)xq[tb[p] * nb + b].d),
                                            _mm_set1_epi16((short)xq[ta[p] * nb + b].d));
            __m512 scale = _mm512_mul_ps(dw, _mm512_cvtph_ps(dx16));
            __m512 term = _mm512_mul_ps(_mm512_cvtepi32_ps(isum), scale);
            acc[p] = _mm512_add_ps(acc[p], term);
        }
    }
    for (int p = 0; p < np; p++) {
        _mm256_storeu_ps(out + ta[p] * CK_QROWS, _mm512_castps512_ps256(acc[p]));
        _mm256_storeu_ps(out + tb[p] * CK_QROWS,
                         _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[p]), 1)));
    }
}

__attribute__((target(CK_QVNNI_TARGET_STR))) void ck_qvnni_gemm_packed(const unsigned char *packed, size_t nb,
                                                                       const ck_block_q8_0 *xq, size_t T, float *out)
{
    size_t t = 0;
    for (; t + 2 * PAIRS <= T; t += 2 * PAIRS)
        gemm_pairs(packed, nb, xq, T, t, PAIRS, out);
    for (; t < T; t += 2)
        gemm_pairs(packed, nb, xq, T, t, 1, out);
}
#endif
