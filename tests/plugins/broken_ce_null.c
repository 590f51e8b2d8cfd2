/* The parity gate's test subject for an optional output: a cross_entropy
 * that writes dlogits whether or not it was asked for, right whenever it
 * is; the trainer's loss alone (ck_trainer_loss) passes dlogits NULL
 * (ck_plugin.h: "or NULL"), where it writes through a null pointer. The
 * loss-only case (harness/parity/parity_edges.c) must name it. Double, one
 * thread. tests/unit/test_parity.c checks the verdicts. */
#include <math.h>

#include "cross_entropy_ref.h"
#include "test_plugin.h"

static int cross_entropy_always_dlogits(const ck_exec_ctx *ctx, const void *args)
{
    const ck_cross_entropy_args *a = args;
    (void)ctx;
    if (ref_ce_declines(a))
        return CK_E_UNSUPPORTED;
    double total = 0;
    for (size_t t = 0; t < a->T; t++) {
        const float *l = a->logits + t * a->V;
        double mx = -INFINITY, sum = 0;
        for (size_t j = 0; j < a->V; j++)
            mx = l[j] > mx ? l[j] : mx;
        for (size_t j = 0; j < a->V; j++)
            sum += exp(l[j] - mx);
        double lse = mx + log(sum);
        total += lse - l[a->targets[t]];
        for (size_t j = 0; j < a->V; j++) /* the defect: no check that dlogits was asked for */
            a->dlogits[t * a->V + j] =
                (float)((exp(l[j] - lse) - (j == (size_t)a->targets[t] ? 1.0 : 0.0)) / (double)a->T);
    }
    return ref_ce_store_loss(a, total);
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_CROSS_ENTROPY, CK_DTYPE_F32, 0, "f32-cross_entropy/dlogits-always", cross_entropy_always_dlogits},
};

CK_TEST_PLUGIN("broken_ce_null", "cross_entropy that writes dlogits even when it is NULL")
