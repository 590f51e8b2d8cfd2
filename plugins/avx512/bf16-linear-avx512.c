/* bf16-linear/avx512: y = x . W^T (+ bias) with bf16 weights [N, K]; packed
 * FMA GEMM for T >= CK512_MATVEC_MAX_T, streaming matvec below (see
 * gemm-avx512.h).
 * bf16 is widened exactly to f32 and accumulated in f32, like the
 * reference; the vdpbf16ps variant is bf16-linear-avx512bf16.c. */
#include "avx512-kernels.h"
#include "linear-avx512.h"

int ck_avx512_bf16_linear(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_linear_kernel(ctx, args, CK_DTYPE_BF16);
}
