/* Q4_0 row kernel, AVX-512 VNNI: vpdpbusd of the unsigned codes (0..15)
 * with x, each row's accumulator starting at -8 * sum(x), so the result is
 * sum((q - 8) * x), the reference's isum exactly. Two blocks per 512-bit
 * register: codes as [low nibbles b, b+1 | high nibbles b, b+1], x permuted
 * to match once per pair of blocks; each decoded weight register serves up
 * to CK_QXROWS activation rows; an odd last block takes the 256-bit step. */
#if defined(__x86_64__)
#include "quant-avx512.h"

_Static_assert(CK_QXROWS == 2, "the kernel below is written for one or two activation rows");

/* Block b alone (256-bit), one activation row. */
CK_QVNNI_TARGET __m256 q4_0_one_block(__m256 acc, const unsigned char *rows[CK_QROWS], const ck_block_q8_0 *xq,
                                      size_t b)
{
    const __m256i x = _mm256_loadu_si256((const __m256i *)xq[b].qs);
    const __m256i start =
        _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(8), x));
    __m256i p[CK_QROWS];
    for (int r = 0; r < CK_QROWS; r++)
        p[r] = _mm256_dpbusd_epi32(start, ck_qx86_q4_0_codes((const ck_block_q4_0 *)rows[r] + b), x);
    __m256 dw = ck_qx86_row_scales(rows, b, sizeof(ck_block_q4_0));
    return ck_qx86_acc_step(acc, ck_qx86_reduce8(p), dw, xq[b].d);
}

/* Codes of blocks b and b + 1: 128-bit chunks [lo b, lo b+1, hi b, hi b+1]. */
CK_QVNNI_TARGET __m512i q4_0_two_blocks(const ck_block_q4_0 *blk)
{
    __m256i raw = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)blk[0].qs)),
                                          _mm_loadu_si128((const __m128i *)blk[1].qs), 1);
    __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(raw), _mm256_srli_epi16(raw, 4), 1);
    return _mm512_and_si512(both, _mm512_set1_epi8(0x0f));
}

/* Activations of blocks b and b + 1 in the codes' chunk order. */
CK_QVNNI_TARGET __m512i q4_0_two_x(const ck_block_q8_0 *xq)
{
    __m512i x = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)xq[0].qs)),
                                   _mm256_loadu_si256((const __m256i *)xq[1].qs), 1);
    return _mm512_shuffle_i32x4(x, x, _MM_SHUFFLE(3, 1, 2, 0));
}

/* nx (1 or 2, a constant once inlined) activation rows. */
CK_QVNNI_TARGET void q4_0_rows_nx(const unsigned char *rows[CK_QROWS], size_t row_bytes, size_t n_rows,
                                  const ck_block_q8_0 *xq, size_t nb, const size_t nx, float *out)
{
    const __m512i eights = _mm512_set1_epi8(8);
    __m256 acc[CK_QXROWS] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    size_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        __m512i x[CK_QXROWS], start[CK_QXROWS], p[CK_QXROWS][CK_QROWS];
        for (size_t i = 0; i < nx; i++) {
            x[i] = q4_0_two_x(&xq[i * nb + b]);
            start[i] =
                _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), eights, x[i]));
        }
        /* The same blocks two tiles ahead, into L2: a tile is eight short
         * streams the hardware prefetcher learns too late, and L2 keeps
         * more misses in flight than L1 (decode of a 4096 x 4096 q4_0
         * weight from DRAM, one thread: 0.87 ms without, 0.67 ms one tile
         * ahead into L1, 0.55 ms two tiles ahead into L2). A prefetch never
         * faults, so past the last row it is harmless. */
        for (int r = 0; r < CK_QROWS; r++)
            _mm_prefetch((const char *)rows[r] + 2 * CK_QROWS * row_bytes + b * sizeof(ck_block_q4_0), _MM_HINT_T1);
        for (int r = 0; r < CK_QROWS; r++) {
            __m512i q = q4_0_two_blocks((const ck_block_q4_0 *)rows[r] + b);
            for (size_t i = 0; i < nx; i++)
                p[i][r] = _mm512_dpbusd_epi32(start[i], q, x[i]);
        }
        __m512 dw = ck_qvnni_row_scales(rows, b, sizeof(ck_block_q4_0));
        for (size_t i = 0; i < nx; i++) {
            __m512i lo, hi;
            ck_qvnni_reduce_chunks(p[i], &lo, &hi);
            acc[i] = ck_qvnni_acc_2steps(acc[i], ck_qvnni_block_sums(lo, hi, CK_QVNNI_B_IN_02), dw, xq[i * nb + b].d,
                                         xq[i * nb + b + 1].d);
        }
    }
    for (; b < nb; b++)
        for (size_t i = 0; i < nx; i++)
            acc[i] = q4_0_one_block(acc[i], rows, xq + i * nb, b);
    for (size_t i = 0; i < nx; i++)
        ck_qx86_store_rows(acc[i], n_rows, out + i * CK_QROWS);
}

__attribute__((target(CK_QVNNI_TARGET_STR))) void ck_quant_q4_0_rows_avx512vnni(const void *w, size_t row_bytes,
                                                                                size_t n_rows, const ck_block_q8_0 *xq,
                                                                                size_t nb, size_t n_x, float *out)
{
    const unsigned char *rows[CK_QROWS];
    ck_qx86_row_ptrs(w, row_bytes, n_rows, rows);
    if (n_x == 2)
        q4_0_rows_nx(rows, row_bytes, n_rows, xq, nb, 2, out);
    else
        q4_0_rows_nx(rows, row_bytes, n_rows, xq, nb, 1, out);
}
#endif
