/* f32-linear_bwd/avx2: the gradients of y = x . W^T + b,
 *   dx = dy . W     as dy . (W^T)^T: W transposed to [K, N], forward GEMM
 *   dW = dy^T . x   as (dy^T) . (x^T)^T: dy and x transposed, forward GEMM
 *   db = sum_t dy   column sums in t order.
 * The transposes share the host's one shared scratch buffer (the GEMM
 * packs into the threads' private scratch); every sum keeps the forward GEMM's fixed k order, so the
 * results do not depend on the thread count. */
#include "bwd-avx2.h"
#include "avx2-helpers.h"

/* A zero-sized dimension: what is left to write is zeros or plain sums. */
static int degenerate(const ck_exec_ctx *ctx, const ck_linear_bwd_args *a)
{
    if (a->dx && a->N == 0)
        memset(a->dx, 0, a->T * a->K * sizeof(float));
    if (a->dw && a->T == 0)
        memset(a->dw, 0, a->N * a->K * sizeof(float));
    if (a->db)
        avx2_bwd_colsum(ctx, a->dy, a->T, a->N, a->db);
    return CK_OK;
}

int ck_avx2_f32_linear_bwd(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_bwd_args *a = args;
    ck_exec_ctx one;
    ctx = bv_ctx_for(ctx, &one, 4.0 * (double)a->T * (double)a->K * (double)a->N);
    size_t T = a->T, K = a->K, N = a->N;
    if (T == 0 || K == 0 || N == 0)
        return degenerate(ctx, a);
    size_t dx_floats = a->dx ? K * N : 0;
    size_t dw_floats = a->dw ? N * T + K * T : 0;
    size_t floats = dx_floats > dw_floats ? dx_floats : dw_floats;
    float *buf = floats ? ctx->scratch(ctx, CK_SCRATCH_SHARED, floats * sizeof(float)) : NULL;
    if (floats && !buf)
        return CK_E_NOMEM;
    int rc = CK_OK;
    if (a->dx) {
        float *wt = buf;
        avx2_bwd_transpose(ctx, a->w, K, N, K, wt, N);
        rc = avx2_bwd_gemm_nt(ctx, a->dy, wt, a->dx, T, N, K);
    }
    if (rc == CK_OK && a->dw) {
        float *dyt = buf, *xt = buf + N * T;
        avx2_bwd_transpose(ctx, a->dy, N, T, N, dyt, T);
        avx2_bwd_transpose(ctx, a->x, K, T, K, xt, T);
        rc = avx2_bwd_gemm_nt(ctx, dyt, xt, a->dw, N, T, K);
    }
    if (rc == CK_OK && a->db)
        avx2_bwd_colsum(ctx, a->dy, T, N, a->db);
    return rc;
}
