/* f32-norm_mlp/avx512 (and the body bf16-norm_mlp shares): norm, then the
 * MLP's input projections (gate, when there is one, and up). As norm_qkv:
 * rows are normalised into the packed x that both GEMMs read, so norm.y is
 * never written; few rows (matvec) run the members unfused. */
#include "avx512-kernels.h"
#include "fused-avx512.h"
#include "linear-avx512.h"

static int fits(const ck_fused_norm_mlp_args *f)
{
    const ck_norm_args *n = &f->norm;
    const ck_linear_args *g = &f->gate, *u = &f->up;
    if (!n->x || !n->gamma || u->x != n->y || u->T != n->T || u->K != n->D || !u->w || !u->y)
        return 0;
    if (g->w && (g->x != n->y || g->T != n->T || g->K != n->D || !g->y || g->w_dtype != u->w_dtype))
        return 0;
    return ck512_fused_packs(n->T, n->D);
}

int ck512_norm_mlp(const ck_exec_ctx *ctx, const void *args, uint32_t dtype)
{
    const ck_fused_norm_mlp_args *f = args;
    if (f->up.w_dtype != dtype || (f->gate.w && f->gate.w_dtype != dtype))
        return CK_E_UNSUPPORTED;
    if (!fits(f)) {
        int rc = ck512_norm_kernel(ctx, f->norm_kind, &f->norm);
        if (rc == CK_OK && f->gate.w)
            rc = ck512_linear_kernel(ctx, &f->gate, dtype);
        return rc != CK_OK ? rc : ck512_linear_kernel(ctx, &f->up, dtype);
    }
    size_t T = f->norm.T, D = f->norm.D;
    float *px = ctx->scratch(ctx, CK_SCRATCH_SHARED, ck512_packed_x_bytes(T, D));
    if (!px)
        return CK_E_NOMEM;
    ck512_norm_src src = {&f->norm, f->norm_kind};
    int rc = ck512_pack_x_rows(ctx, ck512_gemm_for(dtype, D), T, D, ck512_norm_src_row, &src, px);
    if (rc == CK_OK && f->gate.w)
        rc = ck512_linear(ctx, NULL, px, f->gate.w, dtype, f->gate.bias, f->gate.y, T, D, f->gate.N);
    if (rc == CK_OK)
        rc = ck512_linear(ctx, NULL, px, f->up.w, dtype, f->up.bias, f->up.y, T, D, f->up.N);
    return rc;
}

int ck_avx512_f32_norm_mlp(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_norm_mlp(ctx, args, CK_DTYPE_F32);
}
