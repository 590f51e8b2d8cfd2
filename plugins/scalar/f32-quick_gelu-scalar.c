/* f32-quick_gelu/scalar, CLIP's "quick_gelu":
 *   y = x sigmoid(1.702 x) = x / (1 + exp(-1.702 x))
 * in double, rounded to f32 once (exp(-1.702 x) overflows double only for
 * x < -417, where the quotient is -0 as it should be). y may alias x. */
#include <math.h>

#include "scalar.h"

static void quick_gelu_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_unary_args *a = arg;
    (void)tid;
    for (size_t i = begin; i < end; i++) {
        double x = (double)a->x[i];
        a->y[i] = (float)(x / (1.0 + exp(-1.702 * x)));
    }
}

int ck_scalar_f32_quick_gelu(const ck_exec_ctx *ctx, const void *args)
{
    const ck_unary_args *a = args;
    if (a->n == 0)
        return CK_OK;
    scalar_parallel(ctx, a->n, SCALAR_ELEM_GRAIN, quick_gelu_range, (void *)a);
    return CK_OK;
}
