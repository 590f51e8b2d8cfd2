/* quant-avx512.h — helpers of the AVX-512 VNNI row kernels: two blocks per
 * 512-bit register (block b in the low half, b + 1 in the high half), the
 * sixteen (row, block) integer sums reduced with 512-bit shuffles. The f32
 * accumulation stays one lane per row, block b added before block b + 1,
 * exactly as the reference. */
#ifndef CK_QUANT_AVX512_H
#define CK_QUANT_AVX512_H

#include "quant-x86.h"

#define CK_QVNNI_TARGET_STR "avx2,f16c,avx512f,avx512bw,avx512vl,avx512vnni"
#define CK_QVNNI_TARGET __attribute__((target(CK_QVNNI_TARGET_STR), always_inline)) static inline

/* Per 128-bit chunk c, the sums of p[r] over the chunk's four lanes, for
 * rows 0-3 (*lo) and 4-7 (*hi): lane 4c + r%4 of the result. */
CK_QVNNI_TARGET void ck_qvnni_reduce_chunks(const __m512i p[CK_QROWS], __m512i *lo, __m512i *hi)
{
    __m512i u[4];
    for (int i = 0; i < 4; i++) {
        __m512i a = p[2 * i], b = p[2 * i + 1];
        u[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
    }
    *lo = _mm512_add_epi32(_mm512_unpacklo_epi64(u[0], u[1]), _mm512_unpackhi_epi64(u[0], u[1]));
    *hi = _mm512_add_epi32(_mm512_unpacklo_epi64(u[2], u[3]), _mm512_unpackhi_epi64(u[2], u[3]));
}

/* Chunk sums -> [isum(block b, rows 0-7) | isum(block b + 1, rows 0-7)],
 * given which two chunks make block b: chunks {0, 1} (CK_QVNNI_B_IN_01) or
 * chunks {0, 2} (CK_QVNNI_B_IN_02). */
#define CK_QVNNI_B_IN_01 0
#define CK_QVNNI_B_IN_02 1
CK_QVNNI_TARGET __m512i ck_qvnni_block_sums(__m512i lo, __m512i hi, int layout)
{
    __m512i s;
    if (layout == CK_QVNNI_B_IN_01) /* [c0 c2 e0 e2] + [c1 c3 e1 e3] */
        s = _mm512_add_epi32(_mm512_shuffle_i32x4(lo, hi, _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_i32x4(lo, hi, _MM_SHUFFLE(3, 1, 3, 1)));
    else /* [c0 c1 e0 e1] + [c2 c3 e2 e3] */
        s = _mm512_add_epi32(_mm512_shuffle_i32x4(lo, hi, _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_i32x4(lo, hi, _MM_SHUFFLE(3, 2, 3, 2)));
    /* s = [b rows 0-3, b+1 rows 0-3, b rows 4-7, b+1 rows 4-7] */
    return _mm512_shuffle_i32x4(s, s, _MM_SHUFFLE(3, 1, 2, 0));
}

/* The sixteen f16 scales of blocks b and b + 1 of the eight rows, as f32,
 * in the lane order of ck_qvnni_block_sums. */
CK_QVNNI_TARGET __m512 ck_qvnni_row_scales(const unsigned char *rows[CK_QROWS], size_t b, size_t block_bytes)
{
    size_t off = b * block_bytes;
    __m256i d = _mm256_set_epi64x((long long)ck_qx86_scales4(rows + 4, off + block_bytes),
                                  (long long)ck_qx86_scales4(rows, off + block_bytes),
                                  (long long)ck_qx86_scales4(rows + 4, off), (long long)ck_qx86_scales4(rows, off));
    return _mm512_cvtph_ps(d);
}

/* Two ck_qacc_step rounds per lane: block b, then block b + 1. */
CK_QVNNI_TARGET __m256 ck_qvnni_acc_2steps(__m256 acc, __m512i isums, __m512 dw, uint16_t dx_b, uint16_t dx_b1)
{
    __m256i dx16 = _mm256_set_m128i(_mm_set1_epi16((short)dx_b1), _mm_set1_epi16((short)dx_b));
    __m512 scale = _mm512_mul_ps(dw, _mm512_cvtph_ps(dx16));
    __m512 term = _mm512_mul_ps(_mm512_cvtepi32_ps(isums), scale);
    acc = _mm256_add_ps(acc, _mm512_castps512_ps256(term));
    return _mm256_add_ps(acc, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(term), 1)));
}

/* ---- prefill (gemm) -------------------------------------------------------
 * The tile is packed by ck_qx86_pack_tile_* (quant-x86.h) with the codes made
 * unsigned, u = w + c (q8_0: w ^ 0x80, c = 128; q4_0: the nibble itself,
 * c = 8). For activation row t, eight vpdpbusd steps with x's four bytes of
 * step j broadcast to every lane leave sum(u * x) for row r in lane r;
 * starting the sum at -c * sum(x) makes it the exact isum. No horizontal
 * reduction, one register per activation row, and the activation bytes come
 * as embedded broadcasts. */

/* All T activation rows against a packed tile: out[t * CK_QGEMM_ROWS + r]
 * (quant-gemm-avx512vnni.c); c as in the layout above. */
void ck_qvnni_gemm_packed(const unsigned char *packed, size_t nb, const ck_block_q8_0 *xq, const int32_t *xsum,
                          size_t T, int32_t c, float *out);

#endif /* CK_QUANT_AVX512_H */
