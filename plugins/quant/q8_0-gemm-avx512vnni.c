/* Q8_0 prefill kernel, AVX-512 VNNI: repack the tile's codes biased to
 * unsigned (w ^ 0x80 = w + 128; quant-x86.h), then the shared packed kernel
 * with c = 128. */
#if defined(__x86_64__)
#include "quant-avx512.h"

void ck_quant_q8_0_gemm_avx512vnni(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq,
                                   const int32_t *xsum, size_t nb, size_t T, void *work, float *out)
{
    ck_qx86_pack_tile_q8_0(w, row_bytes, n_rows, nb, 0x80, work);
    ck_qvnni_gemm_packed(work, nb, xq, xsum, T, 128, out);
}
#endif
