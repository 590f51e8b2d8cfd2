/* f32-linear_bwd/avx512: the gradients of y = x . W^T + b,
 *   dx = dy . W     as dy . (W^T)^T: W transposed to [K, N], forward GEMM
 *   dW = dy^T . x   as (dy^T) . (x^T)^T: dy and x transposed, forward GEMM
 *   db = sum_t dy   column sums in t order.
 * The transposes and the packed left operand share the host's one shared
 * scratch buffer; every sum keeps the forward GEMM's fixed k order, so the
 * results do not depend on the thread count. */
#include <stdint.h>

#include "bwd-avx512.h"
#include "gemm-avx512.h"

/* A zero-sized dimension: what is left to write is zeros or plain sums. */
static int degenerate(const ck_exec_ctx *ctx, const ck_linear_bwd_args *a)
{
    if (a->dx && a->N == 0)
        memset(a->dx, 0, a->T * a->K * sizeof(float));
    if (a->dw && a->T == 0)
        memset(a->dw, 0, a->N * a->K * sizeof(float));
    if (a->db)
        ck512_bwd_colsum(ctx, a->dy, a->T, a->N, a->db);
    return CK_OK;
}

int ck_avx512_f32_linear_bwd(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_bwd_args *a = args;
    ck_exec_ctx one;
    ctx = bv_ctx_for(ctx, &one, 4.0 * (double)a->T * (double)a->K * (double)a->N);
    size_t T = a->T, K = a->K, N = a->N;
    if (T == 0 || K == 0 || N == 0)
        return degenerate(ctx, a);
    /* the packing gathers use 32-bit offsets of the reduction length */
    if (T > (size_t)INT32_MAX / CK512_NR || N > (size_t)INT32_MAX / CK512_NR)
        return CK_E_UNSUPPORTED;
    size_t dx_floats = a->dx ? K * N + ck512_bwd_packed_floats(T, N) : 0;
    size_t dw_floats = a->dw ? N * T + K * T + ck512_bwd_packed_floats(N, T) : 0;
    size_t floats = dx_floats > dw_floats ? dx_floats : dw_floats;
    float *buf = floats ? ctx->scratch(ctx, CK_SCRATCH_SHARED, floats * sizeof(float)) : NULL;
    if (floats && !buf)
        return CK_E_NOMEM;
    int rc = CK_OK;
    if (a->dx) {
        float *wt = buf, *px = buf + K * N;
        ck512_bwd_transpose(ctx, a->w, K, N, K, wt, N);
        rc = ck512_bwd_gemm_nt(ctx, a->dy, wt, a->dx, T, N, K, px);
    }
    if (rc == CK_OK && a->dw) {
        float *dyt = buf, *xt = buf + N * T, *px = xt + K * T;
        ck512_bwd_transpose(ctx, a->dy, N, T, N, dyt, T);
        ck512_bwd_transpose(ctx, a->x, K, T, K, xt, T);
        rc = ck512_bwd_gemm_nt(ctx, dyt, xt, a->dw, N, T, K, px);
    }
    if (rc == CK_OK && a->db)
        ck512_bwd_colsum(ctx, a->dy, T, N, a->db);
    return rc;
}
