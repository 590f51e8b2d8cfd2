/* linear with f32 weights: y = x . W^T (+ b), through the shared packed GEMM
 * (or the matvec path for a single row); see f32-gemm-avx2.c. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

int ck_avx2_f32_linear(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_args *a = args;
    if (!a || a->w_dtype != CK_DTYPE_F32)
        return CK_E_UNSUPPORTED;
    avx2_linear_problem p = {a->x, a->w, CK_DTYPE_F32, a->bias, a->y, a->N, a->T, a->K, a->N};
    return avx2_linear(ctx, &p);
}
