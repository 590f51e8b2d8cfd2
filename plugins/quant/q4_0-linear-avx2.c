/* Q4_0 row kernel, AVX2: the unsigned codes q (0..15) times x with
 * vpmaddubsw (no overflow: 2 * 15 * 127 < 2^15), and the -8 offset taken out
 * once per block as 8 * sum(x), shared by the eight rows. */
#if defined(__x86_64__)
#include "quant-x86.h"

/* One activation row (sixteen ymm registers hold no more). */
CK_QX86_TARGET void q4_0_one_x(const unsigned char *rows[CK_QROWS], size_t row_bytes, size_t n_rows,
                               const ck_block_q8_0 *xq, size_t nb, float *out)
{
    const __m256i ones16 = _mm256_set1_epi16(1);
    const __m256i eights = _mm256_set1_epi8(8);
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b++) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)xq[b].qs);
        const __m256i offset = _mm256_madd_epi16(_mm256_maddubs_epi16(eights, x), ones16);
        __m256i p[CK_QROWS];
        /* two tiles ahead into L2, as in the AVX-512 kernels (see there) */
        for (int r = 0; r < CK_QROWS; r++)
            _mm_prefetch((const char *)rows[r] + 2 * CK_QROWS * row_bytes + b * sizeof(ck_block_q4_0), _MM_HINT_T1);
        for (int r = 0; r < CK_QROWS; r++) {
            __m256i q = ck_qx86_q4_0_codes((const ck_block_q4_0 *)rows[r] + b);
            __m256i qx = _mm256_madd_epi16(_mm256_maddubs_epi16(q, x), ones16);
            p[r] = _mm256_sub_epi32(qx, offset);
        }
        __m256 dw = ck_qx86_row_scales(rows, b, sizeof(ck_block_q4_0));
        acc = ck_qx86_acc_step(acc, ck_qx86_reduce8(p), dw, xq[b].d);
    }
    ck_qx86_store_rows(acc, n_rows, out);
}

__attribute__((target("avx2,f16c"))) void ck_quant_q4_0_rows_avx2(const void *w, size_t row_bytes, size_t n_rows,
                                                                  const ck_block_q8_0 *xq, size_t nb, size_t n_x,
                                                                  float *out)
{
    const unsigned char *rows[CK_QROWS];
    ck_qx86_row_ptrs(w, row_bytes, n_rows, rows);
    for (size_t i = 0; i < n_x; i++)
        q4_0_one_x(rows, row_bytes, n_rows, xq + i * nb, nb, out + i * CK_QROWS);
}
#endif
