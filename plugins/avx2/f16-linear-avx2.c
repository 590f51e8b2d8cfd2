/* linear with f16 weights: y = x . W^T (+ b), through the shared packed GEMM
 * (or the matvec path for a few rows): f32-gemm-avx2.c, f32-matvec-avx2.c.
 * 16-bit weights are widened exactly to f32; accumulation is f32. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

int ck_avx2_f16_linear(const ck_exec_ctx *ctx, const void *args)
{
    return avx2_linear_kernel(ctx, args, CK_DTYPE_F16);
}
