/* bf16-linear_cbf16/scalar: the compute-bf16 reference (CK_KF_COMPUTE_BF16,
 * docs/ops.md): each x rounded to bf16, to nearest even, then the linear
 * reference's exact products summed in double and rounded once. */
#include "scalar.h"

int ck_scalar_bf16_linear_cbf16(const ck_exec_ctx *ctx, const void *args)
{
    return scalar_linear_compute_bf16(ctx, args);
}
