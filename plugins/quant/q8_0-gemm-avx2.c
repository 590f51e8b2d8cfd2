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

/* GROUP activation rows from row i0 of a group's records (quant-ref.h),
 * against rows 8h..8h+7 of the packed tile. */
CK_QX86_TARGET void q8_0_group(const unsigned char *packed, size_t nb, const unsigned char *rec, int i0, int h,
                               float *out)
{
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256 acc[GROUP];
    for (int i = 0; i < GROUP; i++)
        acc[i] = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b++, rec += CK_QXG_BYTES) {
        const unsigned char *blk = packed + b * CK_QGEMM_PACKED_BLOCK;
        __m256i isum[GROUP];
        for (int i = 0; i < GROUP; i++) {
            isum[i] = _mm256_setzero_si256();
        }
        /* rolled: unrolled, gcc computes all 32 products before adding any
         * and spills them */
#pragma GCC unroll 1
        for (int j = 0; j < CK_QBLOCK / 4; j++) {
            const __m256i w = _mm256_load_si256((const __m256i *)(const void *)(blk + 64 * j + 32 * h));
            const __m256i wabs = _mm256_sign_epi8(w, w);
            for (int i = 0; i < GROUP; i++) {
                int32_t x4;
                memcpy(&x4, rec + CK_QBLOCK * (i0 + i) + 4 * j, sizeof x4);
                __m256i xs = _mm256_sign_epi8(_mm256_set1_epi32(x4), w);
                isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(_mm256_maddubs_epi16(wabs, xs), ones16));
            }
        }
        const __m256 dw = _mm256_load_ps((const float *)(const void *)(blk + 512 + 32 * h));
        for (int i = 0; i < GROUP; i++)
            acc[i] = ck_qx86_acc_step_f32(acc[i], isum[i], dw, ck_qx86_rec_scale(rec, i0 + i));
    }
    for (int i = 0; i < GROUP; i++)
        _mm256_storeu_ps(out + (size_t)(i0 + i) * CK_QGEMM_ROWS + 8 * h, acc[i]);
}

/* Signed codes: the records' code sums are not needed. */
__attribute__((target("avx2,f16c"))) void ck_quant_q8_0_gemm_avx2(const void *w, size_t row_bytes, size_t n_rows,
                                                                  const unsigned char *xg, size_t nb, size_t T,
                                                                  void *work, float *out)
{
    ck_qx86_pack_tile_q8_0(w, row_bytes, n_rows, nb, 0x00, work);
    for (int h = 0; h < 2; h++)
        for (size_t g = 0; g * CK_QXG_ROWS < T; g++)
            for (int i0 = 0; i0 < CK_QXG_ROWS; i0 += GROUP)
                q8_0_group(work, nb, xg + g * nb * CK_QXG_BYTES, i0, h, out + g * CK_QXG_ROWS * CK_QGEMM_ROWS);
}
#endif
