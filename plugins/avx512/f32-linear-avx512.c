/* f32-linear/avx512: y = x . W^T (+ bias) with f32 weights [N, K]; packed
 * FMA GEMM for T >= CK512_MATVEC_MAX_T, streaming matvec below (see
 * gemm-avx512.h). */
#include "avx512-kernels.h"
#include "linear-avx512.h"

int ck_avx512_f32_linear(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_linear_kernel(ctx, args, CK_DTYPE_F32);
}
