/* f16-qkv/scalar: the q, k, v projections of a layer (grouped-query: k and v
 * have n_kv_heads heads), f16 weights widened exactly to f32. */
#include "scalar.h"

int ck_scalar_f16_qkv(const ck_exec_ctx *ctx, const void *args)
{
    return scalar_qkv_dtype(ctx, args, CK_DTYPE_F16, scalar_f16_row_to_f32);
}
