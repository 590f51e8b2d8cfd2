/* Q8_0 row kernel, AVX-512 VNNI. vpdpbusd wants unsigned x signed bytes, so
 * w is biased to w + 128 (w ^ 0x80) and the bias is taken back out by
 * starting each row's accumulator at -128 * sum(x), computed once per block.
 * Two blocks per 512-bit register; an odd last block goes through the
 * 256-bit step. All integer, so every isum is the reference's exactly, and
 * the f32 accumulation is the reference's, lane by lane. */
#if defined(__x86_64__)
#include "quant-avx512.h"

/* Block b alone (256-bit). */
CK_QVNNI_TARGET __m256 q8_0_one_block(__m256 acc, const unsigned char *rows[CK_QROWS], const ck_block_q8_0 *xq,
                                      size_t b)
{
    const __m256i bias = _mm256_set1_epi8((char)0x80);
    const __m256i x = _mm256_loadu_si256((const __m256i *)xq[b].qs);
    const __m256i start = _mm256_sub_epi32(_mm256_setzero_si256(),
                                           _mm256_dpbusd_epi32(_mm256_setzero_si256(), bias, x));
    __m256i p[CK_QROWS];
    for (int r = 0; r < CK_QROWS; r++) {
        const ck_block_q8_0 *blk = (const ck_block_q8_0 *)rows[r] + b;
        __m256i wv = _mm256_loadu_si256((const __m256i *)blk->qs);
        p[r] = _mm256_dpbusd_epi32(start, _mm256_xor_si256(wv, bias), x);
    }
    __m256 dw = ck_qx86_row_scales(rows, b, sizeof(ck_block_q8_0));
    return ck_qx86_acc_step(acc, ck_qx86_reduce8(p), dw, xq[b].d);
}

/* The 32 codes of blocks b (low half) and b + 1 (high half). */
CK_QVNNI_TARGET __m512i q8_0_two_blocks(const ck_block_q8_0 *blk)
{
    __m256i lo = _mm256_loadu_si256((const __m256i *)blk[0].qs);
    __m256i hi = _mm256_loadu_si256((const __m256i *)blk[1].qs);
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

__attribute__((target(CK_QVNNI_TARGET_STR))) void ck_quant_q8_0_rows_avx512vnni(const void *w, size_t row_bytes,
                                                                                size_t n_rows,
                                                                                const ck_block_q8_0 *xq, size_t nb,
                                                                                float *out)
{
    const unsigned char *rows[CK_QROWS];
    ck_qx86_row_ptrs(w, row_bytes, n_rows, rows);
    __m256 acc = _mm256_setzero_ps();
    size_t b = 0;
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    for (; b + 2 <= nb; b += 2) {
        const __m512i x = q8_0_two_blocks(&xq[b]);
        const __m512i start = _mm512_sub_epi32(_mm512_setzero_si512(),
                                               _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, x));
        __m512i p[CK_QROWS];
        for (int r = 0; r < CK_QROWS; r++) {
            __m512i wv = q8_0_two_blocks((const ck_block_q8_0 *)rows[r] + b);
            p[r] = _mm512_dpbusd_epi32(start, _mm512_xor_si512(wv, bias), x);
        }
        __m512i lo, hi;
        ck_qvnni_reduce_chunks(p, &lo, &hi);
        __m512 dw = ck_qvnni_row_scales(rows, b, sizeof(ck_block_q8_0));
        acc = ck_qvnni_acc_2steps(acc, ck_qvnni_block_sums(lo, hi, CK_QVNNI_B_IN_01), dw, xq[b].d,
                                  xq[b + 1].d);
    }
    for (; b < nb; b++)
        acc = q8_0_one_block(acc, rows, xq, b);
    ck_qx86_store_rows(acc, n_rows, out);
}
#endif
