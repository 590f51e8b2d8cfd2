/* f32-qkv/scalar: the q, k, v projections of a layer (grouped-query: k and v
 * have n_kv_heads heads), f32 weights read in place. */
#include "scalar.h"

int ck_scalar_f32_qkv(const ck_exec_ctx *ctx, const void *args)
{
    return scalar_qkv_dtype(ctx, args, CK_DTYPE_F32, NULL);
}
