/* f32-swiglu/scalar: y = silu(gate) * up = gate / (1 + exp(-gate)) * up,
 * in double, rounded to f32 once. y may alias gate or up. */
#include <math.h>

#include "scalar.h"

static void swiglu_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_swiglu_args *a = arg;
    (void)tid;
    for (size_t i = begin; i < end; i++) {
        double g = (double)a->gate[i];
        a->y[i] = (float)(g / (1.0 + exp(-g)) * (double)a->up[i]);
    }
}

int ck_scalar_f32_swiglu(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_args *a = args;
    if (a->n == 0)
        return CK_OK;
    scalar_parallel(ctx, a->n, SCALAR_ELEM_GRAIN, swiglu_range, (void *)a);
    return CK_OK;
}
