/* Q8_0 prefill kernel, AVX2: the tile packed with signed codes
 * (quant-x86.h), eight rows per register, one row per int32 lane. Per step,
 * vpmaddubsw(|w|, x with w's sign) (no saturation: |w| <= 128, |x| <= 127, so
 * a pair is at most 32512) and vpmaddwd with ones; the step sums add as
 * int32, giving each lane its row's exact isum, then one reference
 * accumulation step per lane in block order (the reference's bits). |w| is
 * taken once per step and shared by GROUP activation rows. */
#if defined(__x86_64__)
#include "quant-x86.h"

#define GROUP 4

/* nt (GROUP or 1, a constant once inlined) activation rows from t0, against
 * rows 8h..8h+7 of the packed tile. */
CK_QX86_TARGET void q8_0_group(const unsigned char *packed, size_t nb, const ck_block_q8_0 *xq, size_t t0, const int nt,
                               int h, float *out)
{
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256 acc[GROUP];
    for (int i = 0; i < nt; i++)
        acc[i] = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b++) {
        const unsigned char *blk = packed + b * CK_QGEMM_PACKED_BLOCK;
        const ck_block_q8_0 *x[GROUP];
        __m256i isum[GROUP];
        for (int i = 0; i < nt; i++) {
            x[i] = &xq[(t0 + (size_t)i) * nb + b];
            isum[i] = _mm256_setzero_si256();
        }
        /* rolled: unrolled, gcc computes all 32 products before adding any
         * and spills them */
#pragma GCC unroll 1
        for (int j = 0; j < CK_QBLOCK / 4; j++) {
            const __m256i w = _mm256_load_si256((const __m256i *)(const void *)(blk + 64 * j + 32 * h));
            const __m256i wabs = _mm256_sign_epi8(w, w);
            for (int i = 0; i < nt; i++) {
                int32_t x4;
                memcpy(&x4, x[i]->qs + 4 * j, sizeof x4);
                __m256i xs = _mm256_sign_epi8(_mm256_set1_epi32(x4), w);
                isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(_mm256_maddubs_epi16(wabs, xs), ones16));
            }
        }
        const __m256 dw = _mm256_load_ps((const float *)(const void *)(blk + 512 + 32 * h));
        for (int i = 0; i < nt; i++)
            acc[i] = ck_qx86_acc_step(acc[i], isum[i], dw, x[i]->d);
    }
    for (int i = 0; i < nt; i++)
        _mm256_storeu_ps(out + (t0 + (size_t)i) * CK_QGEMM_ROWS + 8 * h, acc[i]);
}

__attribute__((target("avx2,f16c"))) void ck_quant_q8_0_gemm_avx2(const void *w, size_t row_bytes, size_t n_rows,
                                                                  const ck_block_q8_0 *xq, const int32_t *xsum,
                                                                  size_t nb, size_t T, void *work, float *out)
{
    (void)xsum; /* signed codes: no offset to remove */
    ck_qx86_pack_tile_q8_0(w, row_bytes, n_rows, nb, 0x00, work);
    for (int h = 0; h < 2; h++) {
        size_t t = 0;
        for (; t + GROUP <= T; t += GROUP)
            q8_0_group(work, nb, xq, t, GROUP, h, out);
        for (; t < T; t++)
            q8_0_group(work, nb, xq, t, 1, h, out);
    }
}
#endif
