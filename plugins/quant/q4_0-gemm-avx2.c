/* Q4_0 prefill kernel, AVX2: the tile packed as unsigned codes q = 0..15
 * (quant-x86.h), eight rows per register, one row per int32 lane. Per step,
 * vpmaddubsw(q, x) gives pairs of at most 2 * 15 * 127 = 3810, so the eight
 * steps of a block add up as int16 (at most 30480 < 2^15) before one
 * vpmaddwd with ones; starting from -8 * sum(x) removes the code offset and
 * leaves each lane its row's exact isum, then one reference accumulation
 * step per lane in block order (the reference's bits). */
#if defined(__x86_64__)
#include "quant-x86.h"

#define GROUP 4

/* GROUP activation rows from row i0 of a group's records (quant-ref.h),
 * against rows 8h..8h+7 of the packed tile. */
CK_QX86_TARGET void q4_0_group(const unsigned char *packed, size_t nb, const unsigned char *rec, int i0, int h,
                               float *out)
{
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256 acc[GROUP];
    for (int i = 0; i < GROUP; i++)
        acc[i] = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b++, rec += CK_QXG_BYTES) {
        const unsigned char *blk = packed + b * CK_QGEMM_PACKED_BLOCK;
        __m256i p16[GROUP];
        for (int i = 0; i < GROUP; i++) {
            p16[i] = _mm256_setzero_si256();
        }
        /* rolled: unrolled, gcc computes all 32 products before adding any
         * and spills them */
#pragma GCC unroll 1
        for (int j = 0; j < CK_QBLOCK / 4; j++) {
            const __m256i q = _mm256_load_si256((const __m256i *)(const void *)(blk + 64 * j + 32 * h));
            for (int i = 0; i < GROUP; i++) {
                int32_t x4;
                memcpy(&x4, rec + CK_QBLOCK * (i0 + i) + 4 * j, sizeof x4);
                p16[i] = _mm256_add_epi16(p16[i], _mm256_maddubs_epi16(q, _mm256_set1_epi32(x4)));
            }
        }
        const __m256 dw = _mm256_load_ps((const float *)(const void *)(blk + 512 + 32 * h));
        for (int i = 0; i < GROUP; i++) {
            __m256i offset = _mm256_set1_epi32(-8 * ck_qx86_rec_sum(rec, i0 + i));
            __m256i isum = _mm256_add_epi32(offset, _mm256_madd_epi16(p16[i], ones16));
            acc[i] = ck_qx86_acc_step_f32(acc[i], isum, dw, ck_qx86_rec_scale(rec, i0 + i));
        }
    }
    for (int i = 0; i < GROUP; i++)
        _mm256_storeu_ps(out + (size_t)(i0 + i) * CK_QGEMM_ROWS + 8 * h, acc[i]);
}

__attribute__((target("avx2,f16c"))) void ck_quant_q4_0_gemm_avx2(const void *w, size_t row_bytes, size_t n_rows,
                                                                  const unsigned char *xg, size_t nb, size_t T,
                                                                  void *work, float *out)
{
    ck_qx86_pack_tile_q4_0(w, row_bytes, n_rows, nb, work);
    for (int h = 0; h < 2; h++)
        for (size_t g = 0; g * CK_QXG_ROWS < T; g++)
            for (int i0 = 0; i0 < CK_QXG_ROWS; i0 += GROUP)
                q4_0_group(work, nb, xg + g * nb * CK_QXG_BYTES, i0, h, out + g * CK_QXG_ROWS * CK_QGEMM_ROWS);
}
#endif
