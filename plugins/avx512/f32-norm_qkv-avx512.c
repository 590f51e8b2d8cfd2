/* f32-norm_qkv/avx512 (and the body bf16-norm_qkv shares): norm, then the
 * three projections of the normalised x. Each row is normalised straight
 * into the GEMM's packed x panel (fused-avx512.h), which q, k and v share,
 * so norm.y (T x D floats) is neither written nor read back. Few rows take
 * the matvec, which has no packing step: there the members run unfused. */
#include "avx512-kernels.h"
#include "fused-avx512.h"
#include "linear-avx512.h"

int ck512_norm_qkv(const ck_exec_ctx *ctx, const void *args, uint32_t dtype)
{
    const ck_fused_norm_qkv_args *f = args;
    if (f->qkv.w_dtype != dtype)
        return CK_E_UNSUPPORTED;
    const ck_norm_args *n = &f->norm;
    const ck_qkv_args *a = &f->qkv;
    /* the fusion's links; its buffers and heads the host has checked */
    int fits = n->T == a->T && n->D == a->D && a->x == n->y;
    if (!fits || !ck512_fused_packs(a->T, a->D) || a->n_heads * a->head_dim == 0) {
        int rc = ck512_norm_kernel(ctx, f->norm_kind, n);
        return rc != CK_OK ? rc : ck512_qkv_kernel(ctx, a, dtype);
    }
    size_t T = a->T, D = a->D, nq = a->n_heads * a->head_dim, nkv = a->n_kv_heads * a->head_dim;
    float *px = ctx->scratch(ctx, CK_SCRATCH_SHARED, ck512_packed_x_bytes(T, D));
    if (!px)
        return CK_E_NOMEM;
    ck512_norm_src src = {n, f->norm_kind};
    int rc = ck512_pack_x_rows(ctx, ck512_gemm_for(dtype, D), T, D, ck512_norm_src_row, &src, px);
    if (rc == CK_OK)
        rc = ck512_linear(ctx, NULL, px, a->wq, dtype, a->bq, a->q, T, D, nq);
    if (rc == CK_OK)
        rc = ck512_linear(ctx, NULL, px, a->wk, dtype, a->bk, a->k, T, D, nkv);
    if (rc == CK_OK)
        rc = ck512_linear(ctx, NULL, px, a->wv, dtype, a->bv, a->v, T, D, nkv);
    return rc;
}

int ck_avx512_f32_norm_qkv(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_norm_qkv(ctx, args, CK_DTYPE_F32);
}
