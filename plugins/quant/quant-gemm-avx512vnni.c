/* The prefill kernel of the AVX-512 VNNI path, shared by Q8_0 and Q4_0:
 * a tile of CK_QGEMM_ROWS rows repacked by ck_qx86_pack_tile_*
 * (quant-x86.h) against every activation row. Lane r of a register is
 * weight row r; each block takes eight vpdpbusd steps (two independent
 * chains, even and odd steps, added as integers) and then one reference
 * accumulation step per lane, in block order, so the bits are the
 * reference's. Four activation rows share each loaded weight step. */
#if defined(__x86_64__)
#include "quant-avx512.h"

#define GROUP 4

/* nt (GROUP or 1, a constant once inlined) activation rows from t0. */
CK_QVNNI_TARGET void gemm_group(const unsigned char *packed, size_t nb, const ck_block_q8_0 *xq, const int32_t *xsum,
                                size_t t0, const int nt, int32_t c, float *out)
{
    __m512 acc[GROUP];
    for (int i = 0; i < nt; i++)
        acc[i] = _mm512_setzero_ps();
    for (size_t b = 0; b < nb; b++) {
        const unsigned char *blk = packed + b * CK_QGEMM_PACKED_BLOCK;
        const ck_block_q8_0 *x[GROUP];
        __m512i even[GROUP], odd[GROUP];
        for (int i = 0; i < nt; i++) {
            x[i] = &xq[(t0 + (size_t)i) * nb + b];
            even[i] = _mm512_set1_epi32(-c * xsum[(t0 + (size_t)i) * nb + b]);
            odd[i] = _mm512_setzero_si512();
        }
        for (int j = 0; j < CK_QBLOCK / 4; j++) {
            const __m512i w = _mm512_load_si512(blk + 64 * j);
            for (int i = 0; i < nt; i++) {
                int32_t x4;
                memcpy(&x4, x[i]->qs + 4 * j, sizeof x4);
                if (j % 2 == 0)
                    even[i] = _mm512_dpbusd_epi32(even[i], w, _mm512_set1_epi32(x4));
                else
                    odd[i] = _mm512_dpbusd_epi32(odd[i], w, _mm512_set1_epi32(x4));
            }
        }
        const __m512 dw = _mm512_load_ps(blk + 512);
        for (int i = 0; i < nt; i++) {
            __m512i isum = _mm512_add_epi32(even[i], odd[i]);
            __m512 scale = _mm512_mul_ps(dw, _mm512_cvtph_ps(_mm256_set1_epi16((short)x[i]->d)));
            __m512 term = _mm512_mul_ps(_mm512_cvtepi32_ps(isum), scale);
            acc[i] = _mm512_add_ps(acc[i], term);
        }
    }
    for (int i = 0; i < nt; i++)
        _mm512_storeu_ps(out + (t0 + (size_t)i) * CK_QGEMM_ROWS, acc[i]);
}

__attribute__((target(CK_QVNNI_TARGET_STR))) void ck_qvnni_gemm_packed(const unsigned char *packed, size_t nb,
                                                                       const ck_block_q8_0 *xq, const int32_t *xsum,
                                                                       size_t T, int32_t c, float *out)
{
    size_t t = 0;
    for (; t + GROUP <= T; t += GROUP)
        gemm_group(packed, nb, xq, xsum, t, GROUP, c, out);
    for (; t < T; t++)
        gemm_group(packed, nb, xq, xsum, t, 1, c, out);
}
#endif
