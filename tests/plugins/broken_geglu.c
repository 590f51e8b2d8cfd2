/* The parity gate's test subject for geglu (Gemma's MLP) on exp's range:
 * gelu's tanh taken as (e^2z - 1) / (e^2z + 1) with exp in f32, which
 * gives inf / inf = NaN from z ~ 44 (gate ~ 7.5) on; right on N(0, 1)
 * gates. Sums in double, rounded once, one thread. The exp-range gates
 * (harness/parity/parity_cover.c) must name it: tests/unit/test_parity.c. */
#include <math.h>

#include "test_plugin.h"

static int geglu_exp_tanh(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_args *a = args;
    (void)ctx;
    for (size_t i = 0; i < a->n; i++) {
        double x = a->gate[i];
        float e = expf(2.0f * (float)(0.7978845608028654 * (x + 0.044715 * x * x * x)));
        double t = ((double)e - 1.0) / ((double)e + 1.0); /* the defect: inf / inf past exp's range */
        a->y[i] = (float)(0.5 * x * (1.0 + t) * a->up[i]);
    }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_GEGLU, CK_DTYPE_F32, 0, "f32-geglu/tanh-through-exp", geglu_exp_tanh},
};

CK_TEST_PLUGIN("broken_geglu", "geglu whose tanh overflows exp")
