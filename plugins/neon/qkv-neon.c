/* qkv, f32, bf16 and f16 weights, NEON: three linears of one layer. q[t][h][d] is
 * row h*hd+d of wq, so q is exactly the [T, H*hd] output of a linear (k, v
 * likewise with Hkv heads). All dtypes share this file because only the
 * tile micro-kernel differs, and that lives in the linear files. */
#include "neon-common.h"

static int qkv_run(const ck_exec_ctx *ctx, const ck_qkv_args *a, ck_neon_tile_fn tile_fn)
{
    size_t nq = a->n_heads * a->head_dim, nkv = a->n_kv_heads * a->head_dim;
    ck_neon_linear_drive(ctx, a->x, a->wq, a->bq, a->q, a->T, a->D, nq, tile_fn);
    ck_neon_linear_drive(ctx, a->x, a->wk, a->bk, a->k, a->T, a->D, nkv, tile_fn);
    ck_neon_linear_drive(ctx, a->x, a->wv, a->bv, a->v, a->T, a->D, nkv, tile_fn);
    return CK_OK;
}

int ck_neon_f32_qkv(const ck_exec_ctx *ctx, const void *args)
{
    const ck_qkv_args *a = args;
    if (a->w_dtype != CK_DTYPE_F32)
        return CK_E_UNSUPPORTED;
    return qkv_run(ctx, a, ck_neon_f32_linear_tile);
}

int ck_neon_bf16_qkv(const ck_exec_ctx *ctx, const void *args)
{
    const ck_qkv_args *a = args;
    if (a->w_dtype != CK_DTYPE_BF16)
        return CK_E_UNSUPPORTED;
    return qkv_run(ctx, a, ck_neon_bf16_linear_tile);
}

int ck_neon_f16_qkv(const ck_exec_ctx *ctx, const void *args)
{
    const ck_qkv_args *a = args;
    if (a->w_dtype != CK_DTYPE_F16)
        return CK_E_UNSUPPORTED;
    return qkv_run(ctx, a, ck_neon_f16_linear_tile);
}
