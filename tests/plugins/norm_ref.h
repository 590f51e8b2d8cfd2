/* norm_ref.h — one rmsnorm row as the test plugins that need a right one
 * compute it: in double, rounded once, times `scale` (1: the reference's
 * result within its bound; skewed_norm.c's 1.001 is its defect). */
#ifndef CK_NORM_REF_H
#define CK_NORM_REF_H

#include <math.h>
#include <stddef.h>

static inline void ref_rmsnorm_row(const float *x, float *y, const float *gamma, size_t D, float eps, double scale)
{
    double ss = 0;
    for (size_t i = 0; i < D; i++)
        ss += (double)x[i] * x[i];
    double r = scale / sqrt(ss / (double)D + eps);
    for (size_t i = 0; i < D; i++)
        y[i] = (float)(x[i] * r * gamma[i]);
}

#endif
