/* f32-rmsnorm_bwd/scalar and f32-layernorm_bwd/scalar: gradients of the
 * norms with respect to x, gamma (and beta), in double, rounded once.
 *   rmsnorm:   r = 1/sqrt(mean(x^2)+eps), y = x*r*g
 *              dx = r*g*dy - x * r^3/D * sum_j(dy_j*g_j*x_j)
 *   layernorm: xh = (x-mu)*r, y = xh*g + b, dxh = dy*g
 *              dx = r * (dxh - mean(dxh) - xh*mean(dxh*xh)) */
#include <math.h>
#include <stdlib.h>

#include "scalar-bwd.h"

int ck_scalar_f32_rmsnorm_bwd(const ck_exec_ctx *ctx, const void *args)
{
    const ck_norm_bwd_args *a = args;
    (void)ctx;
    size_t T = a->T, D = a->D;
    double *dg = calloc(D ? D : 1, sizeof *dg);
    if (!dg)
        return CK_E_NOMEM;
    for (size_t t = 0; t < T; t++) {
        const float *x = a->x + t * D, *dy = a->dy + t * D;
        double ss = 0, dot = 0;
        for (size_t i = 0; i < D; i++) {
            ss += (double)x[i] * x[i];
            dot += (double)dy[i] * a->gamma[i] * x[i];
        }
        double r = 1.0 / sqrt(ss / (double)D + a->eps);
        double c = r * r * r * dot / (double)D;
        for (size_t i = 0; i < D; i++) {
            if (a->dx)
                a->dx[t * D + i] = (float)(r * a->gamma[i] * dy[i] - x[i] * c);
            dg[i] += (double)dy[i] * x[i] * r;
        }
    }
    if (a->dgamma)
        for (size_t i = 0; i < D; i++)
            a->dgamma[i] = (float)dg[i];
    free(dg);
    return CK_OK;
}

int ck_scalar_f32_layernorm_bwd(const ck_exec_ctx *ctx, const void *args)
{
    const ck_norm_bwd_args *a = args;
    (void)ctx;
    size_t T = a->T, D = a->D;
    double *acc = calloc(2 * (D ? D : 1), sizeof *acc); /* dgamma, dbeta */
    if (!acc)
        return CK_E_NOMEM;
    for (size_t t = 0; t < T; t++) {
        const float *x = a->x + t * D, *dy = a->dy + t * D;
        double mu = 0, var = 0;
        for (size_t i = 0; i < D; i++)
            mu += x[i];
        mu /= (double)D;
        for (size_t i = 0; i < D; i++)
            var += (x[i] - mu) * (x[i] - mu);
        double r = 1.0 / sqrt(var / (double)D + a->eps);
        double m1 = 0, m2 = 0; /* mean(dxh), mean(dxh*xh) */
        for (size_t i = 0; i < D; i++) {
            double xh = (x[i] - mu) * r, dxh = (double)dy[i] * a->gamma[i];
            m1 += dxh;
            m2 += dxh * xh;
            acc[i] += (double)dy[i] * xh;
            acc[D + i] += dy[i];
        }
        m1 /= (double)D;
        m2 /= (double)D;
        if (a->dx)
            for (size_t i = 0; i < D; i++) {
                double xh = (x[i] - mu) * r, dxh = (double)dy[i] * a->gamma[i];
                a->dx[t * D + i] = (float)(r * (dxh - m1 - xh * m2));
            }
    }
    for (size_t i = 0; i < D; i++) {
        if (a->dgamma)
            a->dgamma[i] = (float)acc[i];
        if (a->dbeta)
            a->dbeta[i] = (float)acc[D + i];
    }
    free(acc);
    return CK_OK;
}
