/* The prefill kernel of the AVX-VNNI path (VEX vpdpbusd on 256-bit
 * registers), shared by Q8_0 and Q4_0: the tile packed with unsigned codes
 * u = w + c (quant-x86.h), eight rows per register, one row per int32
 * lane. Each step broadcasts the activation's four bytes and adds
 * sum(u * x) to every lane; starting at -c * sum(x) leaves the exact isum
 * (as the AVX-512 VNNI kernel does, on half the width). Two chains per
 * activation row (even and odd steps) hide the instruction's latency; then
 * one reference accumulation step per lane, in block order. */
#if defined(__x86_64__)
#include "quant-x86.h"

#define GROUP 4
#define CK_QAVXVNNI_TARGET __attribute__((target("avx2,f16c,avxvnni"), always_inline)) static inline

/* GROUP activation rows from row i0 of a group's records (quant-ref.h),
 * against rows 8h..8h+7 of the packed tile. */
CK_QAVXVNNI_TARGET void avxvnni_group(const unsigned char *packed, size_t nb, const unsigned char *rec, int i0, int h,
                                      int32_t c, float *out)
{
    __m256 acc[GROUP];
    for (int i = 0; i < GROUP; i++)
        acc[i] = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b++, rec += CK_QXG_BYTES) {
        const unsigned char *blk = packed + b * CK_QGEMM_PACKED_BLOCK;
        __m256i even[GROUP], odd[GROUP];
        for (int i = 0; i < GROUP; i++) {
            even[i] = _mm256_set1_epi32(-c * ck_qx86_rec_sum(rec, i0 + i));
            odd[i] = _mm256_setzero_si256();
        }
        for (int j = 0; j < CK_QBLOCK / 4; j += 2) {
            const __m256i w0 = _mm256_load_si256((const __m256i *)(const void *)(blk + 64 * j + 32 * h));
            const __m256i w1 = _mm256_load_si256((const __m256i *)(const void *)(blk + 64 * (j + 1) + 32 * h));
            for (int i = 0; i < GROUP; i++) {
                int32_t x0, x1;
                memcpy(&x0, rec + CK_QBLOCK * (i0 + i) + 4 * j, sizeof x0);
                memcpy(&x1, rec + CK_QBLOCK * (i0 + i) + 4 * j + 4, sizeof x1);
                even[i] = _mm256_dpbusd_avx_epi32(even[i], w0, _mm256_set1_epi32(x0));
                odd[i] = _mm256_dpbusd_avx_epi32(odd[i], w1, _mm256_set1_epi32(x1));
            }
        }
        const __m256 dw = _mm256_load_ps((const float *)(const void *)(blk + 512 + 32 * h));
        for (int i = 0; i < GROUP; i++)
            acc[i] =
                ck_qx86_acc_step_f32(acc[i], _mm256_add_epi32(even[i], odd[i]), dw, ck_qx86_rec_scale(rec, i0 + i));
    }
    for (int i = 0; i < GROUP; i++)
        _mm256_storeu_ps(out + (size_t)(i0 + i) * CK_QGEMM_ROWS + 8 * h, acc[i]);
}

__attribute__((target("avx2,f16c,avxvnni"))) static void
gemm_packed(const unsigned char *packed, size_t nb, const unsigned char *xg, size_t T, int32_t c, float *out)
{
    for (int h = 0; h < 2; h++)
        for (size_t g = 0; g * CK_QXG_ROWS < T; g++)
            for (int i0 = 0; i0 < CK_QXG_ROWS; i0 += GROUP)
                avxvnni_group(packed, nb, xg + g * nb * CK_QXG_BYTES, i0, h, c, out + g * CK_QXG_ROWS * CK_QGEMM_ROWS);
}

/* Q8_0: codes biased to unsigned (w ^ 0x80 = w + 128), c = 128. */
__attribute__((target("avx2,f16c,avxvnni"))) void ck_quant_q8_0_gemm_avxvnni(const void *w, size_t row_bytes,
                                                                             size_t n_rows, const unsigned char *xg,
                                                                             size_t nb, size_t T, void *work,
                                                                             float *out)
{
    ck_qx86_pack_tile_q8_0(w, row_bytes, n_rows, nb, 0x80, work);
    gemm_packed(work, nb, xg, T, 128, out);
}

/* Q4_0: the nibbles as they are, c = 8. */
__attribute__((target("avx2,f16c,avxvnni"))) void ck_quant_q4_0_gemm_avxvnni(const void *w, size_t row_bytes,
                                                                             size_t n_rows, const unsigned char *xg,
                                                                             size_t nb, size_t T, void *work,
                                                                             float *out)
{
    ck_qx86_pack_tile_q4_0(w, row_bytes, n_rows, nb, work);
    gemm_packed(work, nb, xg, T, 8, out);
}
#endif
