/* f32-linear_bwd/scalar and f32-qkv_bwd/scalar: for y = x . W^T + b,
 *   dx = dy . W,  dw = dy^T . x,  db = sum_t dy,
 * every sum in double, rounded once. qkv's dx is the sum of its three
 * projections' dx, also rounded once. */
#include <stdlib.h>
#include <string.h>

#include "scalar-bwd.h"

void scalar_linear_bwd_into(const float *x, const float *w, const float *dy, double *dx_acc, float *dw, float *db,
                            size_t T, size_t K, size_t N)
{
    if (dx_acc)
        for (size_t t = 0; t < T; t++)
            for (size_t n = 0; n < N; n++) {
                double g = dy[t * N + n];
                const float *wr = w + n * K;
                for (size_t k = 0; k < K; k++)
                    dx_acc[t * K + k] += g * wr[k];
            }
    if (dw)
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < K; k++) {
                double s = 0;
                for (size_t t = 0; t < T; t++)
                    s += (double)dy[t * N + n] * x[t * K + k];
                dw[n * K + k] = (float)s;
            }
    if (db)
        for (size_t n = 0; n < N; n++) {
            double s = 0;
            for (size_t t = 0; t < T; t++)
                s += dy[t * N + n];
            db[n] = (float)s;
        }
}

static int round_dx(const double *acc, float *dx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = (float)acc[i];
    return CK_OK;
}

int ck_scalar_f32_linear_bwd(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_bwd_args *a = args;
    (void)ctx;
    double *acc = NULL;
    if (a->dx && !(acc = calloc(a->T * a->K + 1, sizeof *acc)))
        return CK_E_NOMEM;
    scalar_linear_bwd_into(a->x, a->w, a->dy, acc, a->dw, a->db, a->T, a->K, a->N);
    if (acc)
        round_dx(acc, a->dx, a->T * a->K);
    free(acc);
    return CK_OK;
}

int ck_scalar_f32_qkv_bwd(const ck_exec_ctx *ctx, const void *args)
{
    const ck_qkv_bwd_args *a = args;
    (void)ctx;
    size_t nq = a->n_heads * a->head_dim, nkv = a->n_kv_heads * a->head_dim;
    double *acc = NULL;
    if (a->dx && !(acc = calloc(a->T * a->D + 1, sizeof *acc)))
        return CK_E_NOMEM;
    scalar_linear_bwd_into(a->x, a->wq, a->dq, acc, a->dwq, a->dbq, a->T, a->D, nq);
    scalar_linear_bwd_into(a->x, a->wk, a->dk, acc, a->dwk, a->dbk, a->T, a->D, nkv);
    scalar_linear_bwd_into(a->x, a->wv, a->dv, acc, a->dwv, a->dbv, a->T, a->D, nkv);
    if (acc)
        round_dx(acc, a->dx, a->T * a->D);
    free(acc);
    return CK_OK;
}
