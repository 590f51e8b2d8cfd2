/* The parity gate's test subject for cross_entropy's logsumexp: the
 * textbook log(sum exp(l)) without the row's max subtracted, exp in f32 as
 * a kernel takes it (sums in double). Right while every logit is below
 * about 88 (exp's range); a row with one logit past it gives inf and NaN
 * where the loss is finite. One thread. tests/unit/test_parity.c checks the
 * verdicts. */
#include <math.h>

#include "cross_entropy_ref.h"
#include "test_plugin.h"

static int cross_entropy_unshifted(const ck_exec_ctx *ctx, const void *args)
{
    const ck_cross_entropy_args *a = args;
    (void)ctx;
    if (ref_ce_declines(a))
        return CK_E_UNSUPPORTED;
    double total = 0;
    for (size_t t = 0; t < a->T; t++) {
        const float *l = a->logits + t * a->V;
        double sum = 0;
        for (size_t j = 0; j < a->V; j++)
            sum += expf(l[j]); /* the defect: no max subtracted */
        double lse = log(sum);
        total += lse - l[a->targets[t]];
        if (a->dlogits)
            for (size_t j = 0; j < a->V; j++)
                a->dlogits[t * a->V + j] =
                    (float)(((double)expf(l[j]) / sum - (j == (size_t)a->targets[t] ? 1.0 : 0.0)) / (double)a->T);
    }
    return ref_ce_store_loss(a, total);
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_CROSS_ENTROPY, CK_DTYPE_F32, 0, "f32-cross_entropy/no-max-shift", cross_entropy_unshifted},
};

CK_TEST_PLUGIN("broken_ce_shift", "cross_entropy without the max subtracted")
