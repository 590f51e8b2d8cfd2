/* Q8_0 row kernel, AVX-512 VNNI (256-bit, EVEX): vpdpbusd wants unsigned x
 * signed bytes, so w is biased to w + 128 (w ^ 0x80) and the bias is taken
 * back out by starting each row's accumulator at -128 * sum(x), computed
 * once per block. All integer, so the isum is the reference's exactly. */
#if defined(__x86_64__)
#include "quant-x86.h"

#define VNNI_TARGET "avx2,f16c,avx512f,avx512bw,avx512vl,avx512vnni"

__attribute__((target(VNNI_TARGET))) void ck_quant_q8_0_rows_avx512vnni(const void *w, size_t row_bytes,
                                                                        size_t n_rows, const ck_block_q8_0 *xq,
                                                                        size_t nb, float *out)
{
    const unsigned char *rows[CK_QROWS];
    ck_qx86_row_ptrs(w, row_bytes, n_rows, rows);
    const __m256i bias = _mm256_set1_epi8((char)0x80);
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b++) {
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
        acc = ck_qx86_acc_step(acc, ck_qx86_reduce8(p), dw, xq[b].d);
    }
    ck_qx86_store_rows(acc, n_rows, out);
}
#endif
