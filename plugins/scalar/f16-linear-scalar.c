/* f16-linear/scalar: y = x . W^T (+ b), f16 weights widened exactly to f32; the
 * arithmetic is scalar_linear's (linear-common.c). */
#include "scalar.h"

int ck_scalar_f16_linear(const ck_exec_ctx *ctx, const void *args)
{
    return scalar_linear_dtype(ctx, args, CK_DTYPE_F16, scalar_f16_row_to_f32);
}
