/* linear-avx512.h — the linear and qkv kernel bodies shared by the f32 and
 * bf16 weight dtypes (the GEMM widens bf16 while packing, so only the
 * dtype differs). */
#ifndef CK_LINEAR_AVX512_H
#define CK_LINEAR_AVX512_H

#include "gemm-avx512.h"

static inline int ck512_linear_kernel(const ck_exec_ctx *ctx, const ck_linear_args *a, uint32_t dtype)
{
    if (!a || a->w_dtype != dtype)
        return CK_E_UNSUPPORTED;
    if (a->T == 0 || a->N == 0)
        return CK_OK;
    if (!a->y || (a->K > 0 && (!a->x || !a->w)))
        return CK_E_UNSUPPORTED;
    return ck512_linear(ctx, a->x, NULL, a->w, dtype, a->bias, a->y, a->T, a->K, a->N);
}

/* Three projections of one x: x is packed once for all three GEMMs. */
static inline int ck512_qkv_kernel(const ck_exec_ctx *ctx, const ck_qkv_args *a, uint32_t dtype)
{
    if (!a || a->w_dtype != dtype)
        return CK_E_UNSUPPORTED;
    if (a->n_kv_heads == 0 || a->n_heads % a->n_kv_heads != 0)
        return CK_E_UNSUPPORTED;
    size_t T = a->T, D = a->D, nq = a->n_heads * a->head_dim, nkv = a->n_kv_heads * a->head_dim;
    if (T == 0 || nq == 0)
        return CK_OK;
    if (!a->q || !a->k || !a->v || (D > 0 && (!a->x || !a->wq || !a->wk || !a->wv)))
        return CK_E_UNSUPPORTED;
    const float *px = NULL;
    if (T >= CK512_MATVEC_MAX_T && D > 0 && D <= (size_t)INT32_MAX / CK512_NR) {
        float *buf = ctx->scratch(ctx, CK_SCRATCH_SHARED, ck512_packed_x_bytes(T, D));
        if (!buf)
            return CK_E_NOMEM;
        ck512_pack_x(ctx, ck512_gemm_for(dtype, D), a->x, T, D, buf);
        px = buf;
    }
    int rc = ck512_linear(ctx, a->x, px, a->wq, dtype, a->bq, a->q, T, D, nq);
    if (rc == CK_OK)
        rc = ck512_linear(ctx, a->x, px, a->wk, dtype, a->bk, a->k, T, D, nkv);
    if (rc == CK_OK)
        rc = ck512_linear(ctx, a->x, px, a->wv, dtype, a->bv, a->v, T, D, nkv);
    return rc;
}

#endif /* CK_LINEAR_AVX512_H */
