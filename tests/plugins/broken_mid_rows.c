/* The parity gate's test subject for a linear's row-count paths: an f32
 * linear with a path for 17..31 rows (one tile of 16 and a partial second)
 * whose second tile forgets the bias; its decode, small (<= 16) and
 * blocked (>= 32) paths are right. Plain C in double, rounded once, one
 * thread. tests/unit/test_parity.c checks the verdicts. */
#include "test_plugin.h"

static int linear_mid_rows(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_args *a = args;
    (void)ctx;
    if (a->w_dtype != CK_DTYPE_F32)
        return CK_E_UNSUPPORTED;
    const float *w = a->w;
    for (size_t t = 0; t < a->T; t++)
        for (size_t n = 0; n < a->N; n++) {
            int no_bias = a->T > 16 && a->T < 32 && t >= 16; /* the defect */
            double acc = a->bias && !no_bias ? a->bias[n] : 0.0;
            for (size_t k = 0; k < a->K; k++)
                acc += (double)a->x[t * a->K + k] * w[n * a->K + k];
            a->y[t * a->N + n] = (float)acc;
        }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_LINEAR, CK_DTYPE_F32, 0, "f32-linear/mid-rows-without-bias", linear_mid_rows},
};

CK_TEST_PLUGIN("broken_mid_rows", "linear whose 17..31-row path drops the bias past row 16")
