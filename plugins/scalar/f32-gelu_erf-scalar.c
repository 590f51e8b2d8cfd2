/* f32-gelu_erf/scalar, the exact gelu (torch's nn.GELU(), approximate =
 * 'none'):
 *   y = x Phi(x) = 0.5 x erfc(-x / sqrt 2)
 * in double, rounded to f32 once. erfc rather than 1 + erf: for x << 0 the
 * sum cancels and would lose the small result's digits. y may alias x. */
#include <math.h>

#include "scalar.h"

static void gelu_erf_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_unary_args *a = arg;
    (void)tid;
    for (size_t i = begin; i < end; i++) {
        double x = (double)a->x[i];
        a->y[i] = (float)(0.5 * x * erfc(-x * 0.70710678118654752440));
    }
}

int ck_scalar_f32_gelu_erf(const ck_exec_ctx *ctx, const void *args)
{
    const ck_unary_args *a = args;
    if (a->n == 0)
        return CK_OK;
    scalar_parallel(ctx, a->n, SCALAR_ELEM_GRAIN, gelu_erf_range, (void *)a);
    return CK_OK;
}
