/* f16-embedding/scalar (exact class): y[t] = table[ids[t]], each f16
 * widened exactly to f32. */
#include "scalar.h"

int ck_scalar_f16_embedding(const ck_exec_ctx *ctx, const void *args)
{
    return scalar_embedding(ctx, args, CK_DTYPE_F16, scalar_f16_row_to_f32);
}
