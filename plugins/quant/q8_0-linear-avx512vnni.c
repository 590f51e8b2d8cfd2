/* Q8_0 row kernel, AVX-512 VNNI. vpdpbusd wants unsigned x signed bytes, so
 * w is biased to w + 128 (w ^ 0x80) and the bias is taken back out by
 * starting each row's accumulator at -128 * sum(x), computed once per block.
 * Two blocks per 512-bit register, and each biased weight register serves
 * up to CK_QXROWS activation rows; an odd last block goes through the
 * 256-bit step. All integer, so every isum is the reference's exactly, and
 * the f32 accumulation is the reference's, lane by lane. */
#if defined(__x86_64__)
#include "quant-avx512.h"

_Static_assert(CK_QXROWS == 2, "the kernel below is written for one or two activation rows");

/* Block b alone (256-bit), one activation row. */
CK_QVNNI_TARGET __m256 q8_0_one_block(__m256 acc, const unsigned char *rows[CK_QROWS], const ck_block_q8_0 *xq,
                                      size_t b)
{
    const __m256i bias = _mm256_set1_epi8((char)0x80);
    const __m256i x = _mm256_loadu_si256((const __m256i *)xq[b].qs);
    const __m256i start =
        _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), bias, x));
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

/* nx (1 or 2, a constant once inlined) activation rows. */
CK_QVNNI_TARGET void q8_0_rows_nx(const unsigned char *rows[CK_QROWS], size_t row_bytes, size_t n_rows,
                                  const ck_block_q8_0 *xq, size_t nb, const size_t nx, float *out)
{
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    __m256 acc[CK_QXROWS] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    size_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        __m512i x[CK_QXROWS], start[CK_QXROWS], p[CK_QXROWS][CK_QROWS];
        for (size_t i = 0; i < nx; i++) {
            x[i] = q8_0_two_blocks(&xq[i * nb + b]);
            start[i] =
                _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, x[i]));
        }
        /* The next tile, in address order, spread over this tile's steps
         * (its rows are contiguous): the hardware prefetcher serves the
         * tile's eight rows side by side poorly, and a prefetch of each
         * row's own next bytes keeps the same order. Decode of a 4096 x
         * 4096 q8_0 weight from DRAM, one thread: 0.58 ms against 0.65
         * with each row's blocks prefetched two tiles ahead into L2. A
         * prefetch never faults, so past the last row it is harmless. */
        {
            const size_t per = ((CK_QROWS * row_bytes + nb / 2 - 1) / (nb / 2) + 63) & ~(size_t)63;
            const char *ahead = (const char *)rows[0] + CK_QROWS * row_bytes + (b / 2) * per;
            for (size_t o = 0; o < per; o += 64)
                _mm_prefetch(ahead + o, _MM_HINT_T0);
        }
        for (int r = 0; r < CK_QROWS; r++) {
            __m512i wv = _mm512_xor_si512(q8_0_two_blocks((const ck_block_q8_0 *)rows[r] + b), bias);
            for (size_t i = 0; i < nx; i++)
                p[i][r] = _mm512_dpbusd_epi32(start[i], wv, x[i]);
        }
        __m512 dw = ck_qvnni_row_scales(rows, b, sizeof(ck_block_q8_0));
        for (size_t i = 0; i < nx; i++) {
            __m512i lo, hi;
            ck_qvnni_reduce_chunks(p[i], &lo, &hi);
            acc[i] = ck_qvnni_acc_2steps(acc[i], ck_qvnni_block_sums(lo, hi, CK_QVNNI_B_IN_01), dw, xq[i * nb + b].d,
                                         xq[i * nb + b + 1].d);
        }
    }
    for (; b < nb; b++)
        for (size_t i = 0; i < nx; i++)
            acc[i] = q8_0_one_block(acc[i], rows, xq + i * nb, b);
    for (size_t i = 0; i < nx; i++)
        ck_qx86_store_rows(acc[i], n_rows, out + i * CK_QROWS);
}

__attribute__((target(CK_QVNNI_TARGET_STR))) void ck_quant_q8_0_rows_avx512vnni(const void *w, size_t row_bytes,
                                                                                size_t n_rows, const ck_block_q8_0 *xq,
                                                                                size_t nb, size_t n_x, float *out)
{
    const unsigned char *rows[CK_QROWS];
    ck_qx86_row_ptrs(w, row_bytes, n_rows, rows);
    if (n_x == 2)
        q8_0_rows_nx(rows, row_bytes, n_rows, xq, nb, 2, out);
    else
        q8_0_rows_nx(rows, row_bytes, n_rows, xq, nb, 1, out);
}
#endif
