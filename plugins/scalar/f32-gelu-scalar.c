/* f32-gelu/scalar, the tanh form:
 *   y = 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x^3)))
 * in double (x^3 cannot overflow there), rounded to f32 once. y may alias x. */
#include <math.h>

#include "scalar.h"

static void gelu_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_unary_args *a = arg;
    (void)tid;
    for (size_t i = begin; i < end; i++) {
        double x = (double)a->x[i];
        double u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
        a->y[i] = (float)(0.5 * x * (1.0 + tanh(u)));
    }
}

int ck_scalar_f32_gelu(const ck_exec_ctx *ctx, const void *args)
{
    const ck_unary_args *a = args;
    if (a->n == 0)
        return CK_OK;
    scalar_parallel(ctx, a->n, SCALAR_ELEM_GRAIN, gelu_range, (void *)a);
    return CK_OK;
}
