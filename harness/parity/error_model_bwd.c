/* error_model_bwd.c — the error model of the backward ops that have one
 * (docs/ops.md, "Error model"): the three GEMMs of linear_bwd and qkv_bwd,
 * swiglu_bwd's two products and rmsnorm_bwd's cancelling terms. The others
 * (layernorm, attention and gelu backward, cross_entropy) keep their
 * calibrated bounds. */
#include <math.h>
#include <string.h>

#include "error_model.h"

/* ---- backward ops -------------------------------------------------------------------------------- */

/* out[i] = sum_j a[i, j] b[j, c] over `len` terms (strides in elements):
 * pdot(len) sum |a b| + u|r|. The three GEMMs of linear_bwd are this. */
typedef struct gemm_view {
    const float *a, *b;
    size_t rows, cols, len;
    size_t a_row, a_k, b_k, b_col; /* a[i*a_row + j*a_k], b[j*b_k + c*b_col] */
} gemm_view;

static int gemm_bounds(model *m, const gemm_view *g, const float *out)
{
    const float *r;
    double *b = out ? em_bounds_at(m, out, &r) : NULL;
    if (!out)
        return 0;
    if (!b)
        return -1;
    for (size_t i = 0; i < g->rows; i++)
        for (size_t c = 0; c < g->cols; c++) {
            double mag = 0;
            for (size_t j = 0; j < g->len; j++)
                mag += fabs((double)g->a[i * g->a_row + j * g->a_k] * g->b[j * g->b_k + c * g->b_col]);
            size_t o = i * g->cols + c;
            b[o] = pdot((double)g->len + 1) * mag + U * fabs((double)r[o]) + (double)(g->len + 1) * TINY;
        }
    return 0;
}

/* db[n] = sum_t dy[t, n]: a sum over T */
static int colsum_bounds(model *m, const float *dy, size_t T, size_t N, const float *out)
{
    const float *r;
    double *b = out ? em_bounds_at(m, out, &r) : NULL;
    if (!out)
        return 0;
    if (!b)
        return -1;
    for (size_t n = 0; n < N; n++) {
        double mag = 0;
        for (size_t t = 0; t < T; t++)
            mag += fabs((double)dy[t * N + n]);
        b[n] = pdot((double)T + 1) * mag + U * fabs((double)r[n]) + (double)(T + 1) * TINY;
    }
    return 0;
}

/* dx = dy W (sum over N), dW = dy^T x (sum over T), db = sum_t dy */
int em_linear_bwd(model *m, uint32_t op, const void *args)
{
    const ck_linear_bwd_args *a = args;
    (void)op;
    gemm_view dx = {a->dy, a->w, a->T, a->K, a->N, a->N, 1, a->K, 1};
    gemm_view dw = {a->dy, a->x, a->N, a->K, a->T, 1, a->N, a->K, 1};
    return gemm_bounds(m, &dx, a->dx) || gemm_bounds(m, &dw, a->dw) || colsum_bounds(m, a->dy, a->T, a->N, a->db);
}

/* dx sums the three projections' dx: one signed sum over (H + 2 Hkv) hd
 * terms; each weight and bias gradient is linear_bwd's. */
int em_qkv_bwd(model *m, uint32_t op, const void *args)
{
    const ck_qkv_bwd_args *a = args;
    (void)op;
    const float *dy[3] = {a->dq, a->dk, a->dv}, *w[3] = {a->wq, a->wk, a->wv};
    float *dw[3] = {a->dwq, a->dwk, a->dwv}, *db[3] = {a->dbq, a->dbk, a->dbv};
    size_t n[3] = {a->n_heads * a->head_dim, a->n_kv_heads * a->head_dim, a->n_kv_heads * a->head_dim};
    for (int i = 0; i < 3; i++) {
        gemm_view g = {dy[i], a->x, n[i], a->D, a->T, 1, n[i], a->D, 1};
        if (gemm_bounds(m, &g, dw[i]) || colsum_bounds(m, dy[i], a->T, n[i], db[i]))
            return -1;
    }
    const float *r;
    double *b = a->dx ? em_bounds_at(m, a->dx, &r) : NULL;
    if (!a->dx)
        return 0;
    if (!b)
        return -1;
    size_t terms = n[0] + n[1] + n[2];
    for (size_t t = 0; t < a->T; t++)
        for (size_t k = 0; k < a->D; k++) {
            double mag = 0;
            for (int i = 0; i < 3; i++)
                for (size_t j = 0; j < n[i]; j++)
                    mag += fabs((double)dy[i][t * n[i] + j] * w[i][j * a->D + k]);
            size_t o = t * a->D + k;
            b[o] = pdot((double)terms + 1) * mag + U * fabs((double)r[o]) + (double)(terms + 1) * TINY;
        }
    return 0;
}

/* dup = dy silu(g): swiglu's bound with dy for up. dgate = dy up silu'(g),
 * silu' = s (1 + g (1 - s)), s = 1 / (1 + exp(-g)) with relative error
 * E_s = EPS_F + 3u; 1 - s may be formed as 1 - s (absolute error E_s s + u)
 * and cancels against g's term near g = -1.28, so the bound is absolute:
 * |dy up| (E_s s + |g| s ((1 - s) E_s + E_s s + u) + 3u (s + |g| s (1 - s))). */
int em_swiglu_bwd(model *m, uint32_t op, const void *args)
{
    const ck_swiglu_bwd_args *a = args;
    (void)op;
    const float *r_g = NULL, *r_u = NULL;
    double *bg = a->dgate ? em_bounds_at(m, a->dgate, &r_g) : NULL, *bu = a->dup ? em_bounds_at(m, a->dup, &r_u) : NULL;
    if ((a->dgate && !bg) || (a->dup && !bu))
        return -1;
    const double es = EPS_F + 3 * U;
    for (size_t i = 0; i < a->n; i++) {
        double g = a->gate[i], e = exp(-g), s = isinf(e) ? 0.0 : 1.0 / (1.0 + e);
        double dy = fabs((double)a->dy[i]), du = dy * fabs((double)a->up[i]), over = -g > EXP_MAX;
        if (bg) {
            double ag = fabs(g),
                   abs_err = es * s + ag * s * ((1 - s) * es + es * s + U) + 3 * U * (s + ag * s * (1 - s));
            double ar = fabs((double)r_g[i]);
            bg[i] = du * abs_err + 2 * U * ar + (over ? ar : 0.0) + TINY * (1.0 + du);
        }
        if (bu) {
            double ar = fabs((double)r_u[i]), damp = isinf(e) ? 1.0 : e / (1.0 + e);
            bu[i] = (EPS_F * damp + 5 * U) * ar + (over ? ar : 0.0) + TINY * (1.0 + dy);
        }
    }
    return 0;
}

/* rmsnorm_bwd, with inv = 1 / sqrt(mean x^2 + eps) (relative error
 * ei = gamma(D + 3)/2 + 4u) and c = sum_j gamma_j dy_j x_j (a signed sum):
 * dx_i = inv gamma_i dy_i - x_i c inv^3 / D, two terms that may cancel, so
 * each is bounded on its own; dgamma_j = sum_t dy x inv (a sum over T). */
int em_rmsnorm_bwd(model *m, uint32_t op, const void *args)
{
    const ck_norm_bwd_args *a = args;
    (void)op;
    const float *r_dx = NULL, *r_dg = NULL;
    double *bx = a->dx ? em_bounds_at(m, a->dx, &r_dx) : NULL,
           *bg = a->dgamma ? em_bounds_at(m, a->dgamma, &r_dg) : NULL;
    if ((a->dx && !bx) || (a->dgamma && !bg))
        return -1;
    size_t D = a->D;
    double ei = 0.5 * gamma_n((double)D + 3) + 4 * U;
    if (bg)
        memset(bg, 0, D * sizeof *bg);
    for (size_t t = 0; t < a->T; t++) {
        const float *x = a->x + t * D, *dy = a->dy + t * D;
        double ss = 0, c = 0, cmag = 0;
        for (size_t i = 0; i < D; i++) {
            ss += (double)x[i] * x[i];
            c += (double)a->gamma[i] * dy[i] * x[i];
            cmag += fabs((double)a->gamma[i] * dy[i] * x[i]);
        }
        double inv = 1.0 / sqrt(ss / (double)D + (double)a->eps), k3 = inv * inv * inv / (double)D;
        for (size_t i = 0; i < D; i++) {
            double t1 = inv * fabs((double)a->gamma[i] * dy[i]), t2 = fabs((double)x[i]) * k3;
            if (bx)
                bx[t * D + i] = t1 * (ei + 3 * U) + t2 * (fabs(c) * (3 * ei + 4 * U) + pdot((double)D + 1) * cmag) +
                                U * fabs((double)r_dx[t * D + i]) + TINY * (1.0 + inv);
            if (bg) /* accumulated magnitude first, finished below */
                bg[i] += fabs((double)dy[i] * x[i]) * inv;
        }
    }
    for (size_t i = 0; bg && i < D; i++)
        bg[i] = (pdot((double)a->T + 1) + ei + 2 * U) * bg[i] + U * fabs((double)r_dg[i]) + (double)(a->T + 1) * TINY;
    return 0;
}
