/* f32-geglu/scalar: y = gelu(gate) * up with gelu's tanh form
 *   gelu(g) = 0.5 * g * (1 + tanh(0.7978845608028654 * (g + 0.044715 * g^3)))
 * in double, the product too, rounded to f32 once. y may alias gate or up. */
#include <math.h>

#include "scalar.h"

static void geglu_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_swiglu_args *a = arg;
    (void)tid;
    for (size_t i = begin; i < end; i++) {
        double g = (double)a->gate[i];
        double u = 0.7978845608028654 * (g + 0.044715 * g * g * g);
        a->y[i] = (float)(0.5 * g * (1.0 + tanh(u)) * (double)a->up[i]);
    }
}

int ck_scalar_f32_geglu(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_args *a = args;
    if (a->n == 0)
        return CK_OK;
    scalar_parallel(ctx, a->n, SCALAR_ELEM_GRAIN, geglu_range, (void *)a);
    return CK_OK;
}
