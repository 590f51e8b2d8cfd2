/* Q8_0 prefill kernel, AVX-512 VNNI: repack the tile's codes biased to
 * unsigned (w ^ 0x80 = w + 128; quant-avx512.h), then the shared packed
 * kernel with c = 128. */
#if defined(__x86_64__)
#include "quant-avx512.h"

void ck_quant_q8_0_gemm_avx512vnni(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq,
                                   const int32_t *xsum, size_t nb, size_t T, void *work, float *out)
{
    const unsigned char *rows[CK_QGEMM_ROWS];
    ck_qvnni_gemm_rows(w, row_bytes, n_rows, rows);
    unsigned char *packed = work;
    for (size_t b = 0; b < nb; b++) {
        uint8_t codes[CK_QGEMM_ROWS][CK_QBLOCK];
        uint16_t d[CK_QGEMM_ROWS];
        for (int r = 0; r < CK_QGEMM_ROWS; r++) {
            const ck_block_q8_0 *blk = (const ck_block_q8_0 *)rows[r] + b;
            for (int k = 0; k < CK_QBLOCK; k++)
                codes[r][k] = (uint8_t)((uint8_t)blk->qs[k] ^ 0x80u);
            d[r] = blk->d;
        }
        ck_qvnni_pack_block(codes, d, packed + b * CK_QVNNI_PACKED_BLOCK);
    }
    ck_qvnni_gemm_packed(packed, nb, xq, xsum, T, 128, out);
}
#endif
