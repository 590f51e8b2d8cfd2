/* f32-linear/scalar: y = x . W^T (+ b), f32 weights read in place; the
 * arithmetic is scalar_linear's (linear-common.c). */
#include "scalar.h"

int ck_scalar_f32_linear(const ck_exec_ctx *ctx, const void *args)
{
    return scalar_linear_dtype(ctx, args, CK_DTYPE_F32, NULL);
}
