/* f32-layernorm/scalar: y = (x - mean) / sqrt(var + eps) * gamma + beta per
 * row, population variance from a second pass over (x - mean), all in
 * double, rounded to f32 once. beta == NULL means 0. y may alias x. */
#include <math.h>

#include "scalar.h"

static void layernorm_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ck_norm_args *a = arg;
    (void)tid;
    for (size_t t = begin; t < end; t++) {
        const float *x = a->x + t * a->D;
        float *y = a->y + t * a->D;
        double sum = 0.0;
        for (size_t i = 0; i < a->D; i++)
            sum += (double)x[i];
        double mean = sum / (double)a->D;
        double sq = 0.0;
        for (size_t i = 0; i < a->D; i++) {
            double c = (double)x[i] - mean;
            sq += c * c;
        }
        double r = 1.0 / sqrt(sq / (double)a->D + (double)a->eps);
        for (size_t i = 0; i < a->D; i++) {
            double v = ((double)x[i] - mean) * r * (double)a->gamma[i];
            if (a->beta)
                v += (double)a->beta[i];
            y[i] = (float)v;
        }
    }
}

int ck_scalar_f32_layernorm(const ck_exec_ctx *ctx, const void *args)
{
    const ck_norm_args *a = args;
    if (a->T == 0 || a->D == 0)
        return CK_OK;
    scalar_parallel(ctx, a->T, 1, layernorm_rows, (void *)a);
    return CK_OK;
}
