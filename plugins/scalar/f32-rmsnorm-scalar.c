/* f32-rmsnorm/scalar: y = x * (1 / sqrt(mean(x^2) + eps)) * gamma per row,
 * the mean and the scaling in double, rounded to f32 once. y may alias x. */
#include <math.h>

#include "scalar.h"

static void rmsnorm_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ck_norm_args *a = arg;
    (void)tid;
    for (size_t t = begin; t < end; t++) {
        const float *x = a->x + t * a->D;
        float *y = a->y + t * a->D;
        double ss = 0.0;
        for (size_t i = 0; i < a->D; i++)
            ss += (double)x[i] * (double)x[i];
        double r = 1.0 / sqrt(ss / (double)a->D + (double)a->eps);
        for (size_t i = 0; i < a->D; i++)
            y[i] = (float)((double)x[i] * r * (double)a->gamma[i]);
    }
}

int ck_scalar_f32_rmsnorm(const ck_exec_ctx *ctx, const void *args)
{
    const ck_norm_args *a = args;
    if (a->T == 0 || a->D == 0)
        return CK_OK;
    scalar_parallel(ctx, a->T, 1, rmsnorm_rows, (void *)a);
    return CK_OK;
}
