/* Q4_0 prefill kernel, AVX-512 VNNI: the shared kernel
 * (quant-gemm-avx512vnni.c), which repacks the tile's nibbles chunk by chunk
 * as unsigned codes (quant-x86.h) and uses c = 8 (shift 3). */
#if defined(__x86_64__)
#include "quant-avx512.h"

__attribute__((target(CK_QVNNI_TARGET_STR))) void ck_quant_q4_0_gemm_avx512vnni(const void *w, size_t row_bytes,
                                                                                size_t n_rows, const unsigned char *xg,
                                                                                size_t nb, size_t T, void *work,
                                                                                float *out)
{
    ck_qvnni_gemm(w, row_bytes, n_rows, xg, nb, T, work, out, CK_DTYPE_Q4_0);
}
#endif
