/* The parity gate's test subject for the trainable variants (issue 18):
 * each kernel is right but for one deliberate defect, which only the
 * arguments using the feature expose:
 *   attention_bwd  ignores the soft-cap's slope (dS not multiplied by
 *                  1 - tanh^2), claiming CK_KF_ATTN_WINDOW_SOFTCAP
 *   geglu_bwd      dgate with gelu' = 0.5 (1 + tanh z): the x (1 - tanh^2 z)
 *                  term dropped (dup is right)
 * The tests (tests/unit/test_parity.c) check that `ckbench parity` fails the
 * cases that use the feature and names the kernel. Plain C in double, one
 * thread: no other defect to confuse the verdicts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention_bwd_ref.h"
#include "test_plugin.h"

static int attention_bwd_ignores_cap_slope(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    return ref_attention_bwd(args, ref_kv_head); /* the defect is the reference's missing cap slope */
}

static int geglu_bwd_drops_the_slope_term(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_bwd_args *a = args;
    (void)ctx;
    for (size_t i = 0; i < a->n; i++) {
        double g = a->gate[i], th = tanh(0.7978845608028654 * (g + 0.044715 * g * g * g));
        if (a->dgate)
            a->dgate[i] = (float)((double)a->dy[i] * a->up[i] * 0.5 * (1.0 + th));
        if (a->dup)
            a->dup[i] = (float)((double)a->dy[i] * 0.5 * g * (1.0 + th));
    }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ATTENTION_BWD, CK_DTYPE_F32, CK_KF_ATTN_WINDOW_SOFTCAP, "f32-attention_bwd/ignores-cap-slope",
     attention_bwd_ignores_cap_slope},
    {CK_OP_GEGLU_BWD, CK_DTYPE_F32, 0, "f32-geglu_bwd/drops-slope-term", geglu_bwd_drops_the_slope_term},
};

CK_TEST_PLUGIN("broken_bwd", "attention_bwd without the cap's slope, geglu_bwd without gelu's tanh-slope term")
