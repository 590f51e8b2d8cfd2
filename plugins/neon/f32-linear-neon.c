/* linear, f32 weights, NEON: y[t][n] = sum_k x[t][k] * w[n][k] (+ bias[n]), f32 FMA
 * accumulation.
 * The micro-kernel is ck_neon_linear_tile_any (neon-common.h) specialised for
 * this dtype; the loop over rows and column groups is neon-linear-driver.c. */
#include "neon-common.h"

void ck_neon_f32_linear_tile(const float *x, size_t rows, const void *w, size_t n0, size_t cols, size_t K, float *y,
                             size_t ldy)
{
    ck_neon_linear_tile_any(x, rows, w, n0, cols, K, y, ldy, CK_DTYPE_F32);
}

int ck_neon_f32_linear(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_args *a = args;
    if (a->w_dtype != CK_DTYPE_F32)
        return CK_E_UNSUPPORTED;
    ck_neon_linear_drive(ctx, a->x, a->w, a->bias, a->y, a->T, a->K, a->N, ck_neon_f32_linear_tile);
    return CK_OK;
}
