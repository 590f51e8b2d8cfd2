/* f32-qkv_bwd/avx512: the gradients of the three projections of one x.
 *   dx = [dq | dk | dv] . [Wq; Wk; Wv]: one GEMM over the stacked reduction
 *        (nq + 2 nkv), so dx is rounded from a single sum, not three;
 *   dWq = dq^T . x (and k, v): x^T is built once for all three;
 *   db  = column sums of dq, dk, dv in t order.
 * The transposes and the packed operand share the host's shared scratch;
 * sums keep the forward GEMM's fixed order, independent of the split. */
#include <stdint.h>

#include "bwd-avx512.h"
#include "gemm-avx512.h"

typedef struct proj {
    const float *w, *dy;
    float *dw, *db;
    size_t n; /* output rows of the projection */
} proj;

/* dx over the stacked reduction R: cat [T, R] and wt [D, R] in buf. */
static int input_grad(const ck_exec_ctx *ctx, const ck_qkv_bwd_args *a, const proj p[3], size_t R, float *buf)
{
    size_t T = a->T, D = a->D, off = 0;
    float *cat = buf, *wt = buf + T * R, *px = wt + D * R;
    for (int i = 0; i < 3; i++) {
        for (size_t t = 0; t < T; t++)
            memcpy(cat + t * R + off, p[i].dy + t * p[i].n, p[i].n * sizeof(float));
        ck512_bwd_transpose(ctx, p[i].w, D, p[i].n, D, wt + off, R);
        off += p[i].n;
    }
    return ck512_bwd_gemm_nt(ctx, cat, wt, a->dx, T, R, D, px);
}

/* dW of each projection from x^T [D, T] and dy^T [n, T]. */
static int weight_grads(const ck_exec_ctx *ctx, const ck_qkv_bwd_args *a, const proj p[3], float *buf)
{
    size_t T = a->T, D = a->D;
    float *xt = buf, *dyt = xt + D * T, *px = dyt + p[0].n * T; /* p[0] (q) is the widest */
    ck512_bwd_transpose(ctx, a->x, D, T, D, xt, T);
    for (int i = 0; i < 3; i++) {
        if (!p[i].dw)
            continue;
        ck512_bwd_transpose(ctx, p[i].dy, p[i].n, T, p[i].n, dyt, T);
        int rc = ck512_bwd_gemm_nt(ctx, dyt, xt, p[i].dw, p[i].n, T, D, px);
        if (rc != CK_OK)
            return rc;
    }
    return CK_OK;
}

int ck_avx512_f32_qkv_bwd(const ck_exec_ctx *ctx, const void *args)
{
    const ck_qkv_bwd_args *a = args;
    ck_exec_ctx one;
    ctx = bv_ctx_for(ctx, &one,
                     4.0 * (double)a->T * (double)a->D * (double)((a->n_heads + 2 * a->n_kv_heads) * a->head_dim));
    size_t T = a->T, D = a->D, nq = a->n_heads * a->head_dim, nkv = a->n_kv_heads * a->head_dim;
    size_t R = nq + 2 * nkv;
    const proj p[3] = {
        {a->wq, a->dq, a->dwq, a->dbq, nq}, {a->wk, a->dk, a->dwk, a->dbk, nkv}, {a->wv, a->dv, a->dwv, a->dbv, nkv}};
    if (T > (size_t)INT32_MAX / CK512_NR || R > (size_t)INT32_MAX / CK512_NR)
        return CK_E_UNSUPPORTED;
    int want_dw = a->dwq || a->dwk || a->dwv, rc = CK_OK;
    if (T && D && R) {
        size_t dx_floats = a->dx ? T * R + D * R + ck512_bwd_packed_floats(T, R) : 0;
        size_t dw_floats = want_dw ? D * T + nq * T + ck512_bwd_packed_floats(nq, T) : 0;
        size_t floats = dx_floats > dw_floats ? dx_floats : dw_floats;
        float *buf = floats ? ctx->scratch(ctx, CK_SCRATCH_SHARED, floats * sizeof(float)) : NULL;
        if (floats && !buf)
            return CK_E_NOMEM;
        if (a->dx)
            rc = input_grad(ctx, a, p, R, buf);
        if (rc == CK_OK && want_dw)
            rc = weight_grads(ctx, a, p, buf);
    } else {
        if (a->dx)
            memset(a->dx, 0, T * D * sizeof(float));
        for (int i = 0; i < 3; i++)
            if (p[i].dw)
                memset(p[i].dw, 0, p[i].n * D * sizeof(float));
    }
    for (int i = 0; i < 3 && rc == CK_OK; i++)
        if (p[i].db)
            ck512_bwd_colsum(ctx, p[i].dy, T, p[i].n, p[i].db);
    return rc;
}
