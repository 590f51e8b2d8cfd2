/* Q8_0 prefill kernel, AVX-512 VNNI: the shared kernel
 * (quant-gemm-avx512vnni.c), which repacks the tile's codes chunk by chunk
 * biased to unsigned (w ^ 0x80 = w + 128; quant-x86.h) and uses c = 128
 * (shift 7). */
#if defined(__x86_64__)
#include "quant-avx512.h"

__attribute__((target(CK_QVNNI_TARGET_STR))) void ck_quant_q8_0_gemm_avx512vnni(const void *w, size_t row_bytes,
                                                                                size_t n_rows, const unsigned char *xg,
                                                                                size_t nb, size_t T, void *work,
                                                                                float *out)
{
    ck_qvnni_gemm(w, row_bytes, n_rows, xg, nb, T, work, out, CK_DTYPE_Q8_0);
}
#endif
