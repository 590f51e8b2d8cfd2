/* Q8_0 row kernel, AVX2: per row and block, |w| (unsigned) times x with the
 * sign of w moved onto x (vpmaddubsw cannot overflow: |w| <= 128, |x| <= 127
 * since activations never reach -128), then
 * pairs of int16 summed to int32; the eight rows' partials are reduced to one
 * isum per lane and accumulated exactly as the reference does. */
#if defined(__x86_64__)
#include "quant-x86.h"

/* One activation row (sixteen ymm registers hold no more). */
CK_QX86_TARGET void q8_0_one_x(const unsigned char *rows[CK_QROWS], size_t row_bytes, size_t n_rows,
                               const ck_block_q8_0 *xq, size_t nb, float *out)
{
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b++) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)xq[b].qs);
        __m256i p[CK_QROWS];
        /* two tiles ahead into L2, as in the AVX-512 kernels (see there) */
        for (int r = 0; r < CK_QROWS; r++)
            _mm_prefetch((const char *)rows[r] + 2 * CK_QROWS * row_bytes + b * sizeof(ck_block_q8_0), _MM_HINT_T1);
        for (int r = 0; r < CK_QROWS; r++) {
            const ck_block_q8_0 *blk = (const ck_block_q8_0 *)rows[r] + b;
            __m256i wv = _mm256_loadu_si256((const __m256i *)blk->qs);
            __m256i wabs = _mm256_sign_epi8(wv, wv);
            __m256i xs = _mm256_sign_epi8(x, wv);
            p[r] = _mm256_madd_epi16(_mm256_maddubs_epi16(wabs, xs), ones16);
        }
        __m256 dw = ck_qx86_row_scales(rows, b, sizeof(ck_block_q8_0));
        acc = ck_qx86_acc_step(acc, ck_qx86_reduce8(p), dw, xq[b].d);
    }
    ck_qx86_store_rows(acc, n_rows, out);
}

__attribute__((target("avx2,f16c"))) void ck_quant_q8_0_rows_avx2(const void *w, size_t row_bytes, size_t n_rows,
                                                                  const ck_block_q8_0 *xq, size_t nb, size_t n_x,
                                                                  float *out)
{
    const unsigned char *rows[CK_QROWS];
    ck_qx86_row_ptrs(w, row_bytes, n_rows, rows);
    for (size_t i = 0; i < n_x; i++)
        q8_0_one_x(rows, row_bytes, n_rows, xq + i * nb, nb, out + i * CK_QROWS);
}
#endif
