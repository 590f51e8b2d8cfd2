/* The parity gate's test subject for gelu_erf's tail: the textbook form
 *   y = 0.5 x (1 + erff(x / sqrt 2))
 * in f32 with libm's erff, right to a few ulps for x > -1 and the port a
 * reader of torch's docs writes first. For x << 0 the sum cancels: at
 * x = -4 it keeps about 3 of y's 24 bits, and from x = -5.9 on it returns
 * 0. tests/unit/test_parity.c checks that the gate's derived bound (Phi's
 * relative error, docs/ops.md) fails it on the tails and passes it where it
 * is right. */
#include <math.h>

#include "test_plugin.h"

static int gelu_erf_cancels(const ck_exec_ctx *ctx, const void *args)
{
    const ck_unary_args *a = args;
    (void)ctx;
    for (size_t i = 0; i < a->n; i++) {
        float x = a->x[i];
        a->y[i] = 0.5f * x * (1.0f + erff(x * 0.70710678f));
    }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_GELU_ERF, CK_DTYPE_F32, 0, "f32-gelu_erf/one-plus-erff", gelu_erf_cancels},
};

CK_TEST_PLUGIN("broken_erf_cancel", "gelu_erf as 0.5 x (1 + erff(x / sqrt 2)) in f32: cancels for x << 0")
