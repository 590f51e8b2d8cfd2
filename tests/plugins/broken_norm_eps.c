/* The parity gate's test subject for a norm's eps: an f32 rmsnorm that adds
 * eps outside the square root, 1 / (sqrt(ms) + eps), as some ports of
 * layer norms do; indistinguishable where the row's mean square is far
 * above eps, wrong where it is near (rows of small values, zero rows).
 * Plain C in double, rounded once, one thread. tests/unit/test_parity.c
 * checks the verdicts. */
#include <math.h>

#include "test_plugin.h"

static int rmsnorm_eps_outside(const ck_exec_ctx *ctx, const void *args)
{
    const ck_norm_args *a = args;
    (void)ctx;
    for (size_t t = 0; t < a->T; t++) {
        const float *x = a->x + t * a->D;
        double ss = 0;
        for (size_t i = 0; i < a->D; i++)
            ss += (double)x[i] * x[i];
        double r = 1.0 / (sqrt(ss / (double)a->D) + a->eps); /* the defect: eps outside the root */
        for (size_t i = 0; i < a->D; i++)
            a->y[t * a->D + i] = (float)(x[i] * r * a->gamma[i]);
    }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_RMSNORM, CK_DTYPE_F32, 0, "f32-rmsnorm/eps-outside-the-root", rmsnorm_eps_outside},
};

CK_TEST_PLUGIN("broken_norm_eps", "rmsnorm with eps outside the square root")
