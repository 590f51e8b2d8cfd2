/* Q4_0 row kernel, AVX-512 VNNI (256-bit, EVEX): vpdpbusd of the unsigned
 * codes (0..15) with x, each row's accumulator starting at -8 * sum(x) so
 * that the result is sum((q - 8) * x), the reference's isum exactly. */
#if defined(__x86_64__)
#include "quant-x86.h"

#define VNNI_TARGET "avx2,f16c,avx512f,avx512bw,avx512vl,avx512vnni"

__attribute__((target(VNNI_TARGET))) void ck_quant_q4_0_rows_avx512vnni(const void *w, size_t row_bytes,
                                                                        size_t n_rows, const ck_block_q8_0 *xq,
                                                                        size_t nb, float *out)
{
    const unsigned char *rows[CK_QROWS];
    ck_qx86_row_ptrs(w, row_bytes, n_rows, rows);
    const __m256i eights = _mm256_set1_epi8(8);
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b++) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)xq[b].qs);
        const __m256i start = _mm256_sub_epi32(_mm256_setzero_si256(),
                                               _mm256_dpbusd_epi32(_mm256_setzero_si256(), eights, x));
        __m256i p[CK_QROWS];
        for (int r = 0; r < CK_QROWS; r++) {
            __m256i q = ck_qx86_q4_0_codes((const ck_block_q4_0 *)rows[r] + b);
            p[r] = _mm256_dpbusd_epi32(start, q, x);
        }
        __m256 dw = ck_qx86_row_scales(rows, b, sizeof(ck_block_q4_0));
        acc = ck_qx86_acc_step(acc, ck_qx86_reduce8(p), dw, xq[b].d);
    }
    ck_qx86_store_rows(acc, n_rows, out);
}
#endif
