/* The parity gate's test subject for the backward's elementwise tails: a
 * swiglu_bwd in steps of 8 whose tail loop writes dup but not dgate when 2
 * to 6 elements are left over (a tail written for the 1 and 7 of the
 * suite's 1, 7, 17 and 4095), right otherwise. Plain C in double, rounded
 * once, one thread. The cover's lengths (harness/parity/parity_cover.c)
 * must name it: tests/unit/test_parity.c. */
#include <math.h>

#include "test_plugin.h"

static int swiglu_bwd_tail(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_bwd_args *a = args;
    (void)ctx;
    const size_t main = a->n / 8 * 8, r = a->n - main;
    for (size_t i = 0; i < a->n; i++) {
        double g = a->gate[i], s = 1.0 / (1.0 + exp(-g)), dy = a->dy[i];
        if (a->dup)
            a->dup[i] = (float)(dy * g * s);
        if (a->dgate && (i < main || r < 2 || r > 6)) /* the defect: dgate of a 2..6 tail unwritten */
            a->dgate[i] = (float)(dy * a->up[i] * s * (1.0 + g * (1.0 - s)));
    }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_SWIGLU_BWD, CK_DTYPE_F32, 0, "f32-swiglu_bwd/tail-of-2-to-6", swiglu_bwd_tail},
};

CK_TEST_PLUGIN("broken_bwd_tail", "swiglu_bwd that leaves dgate of a short tail unwritten")
