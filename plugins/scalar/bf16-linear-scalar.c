/* bf16-linear/scalar: y = x . W^T (+ b), bf16 weights widened exactly to f32; the
 * arithmetic is scalar_linear's (linear-common.c). */
#include "scalar.h"

int ck_scalar_bf16_linear(const ck_exec_ctx *ctx, const void *args)
{
    return scalar_linear_dtype(ctx, args, CK_DTYPE_BF16, scalar_bf16_row_to_f32);
}
