/* The parity gate's test subject for the CLIP activations: each kernel
 * computes a near neighbour of its op, the mistakes a port makes:
 *   gelu_erf    the tanh form (gelu's), which is within 5e-4 of erf gelu
 *               and far off in relative terms in its negative tail
 *   quick_gelu  x sigmoid(1.7 x): 1.702 rounded to 1.7 (a relative change
 *               of about 4e-4 near x = 1)
 *   act_down    (f32, claims CK_KF_ACT_DOWN_UNARY) act_kind GELU_ERF and
 *               QUICK_GELU read the other way round (each a right function
 *               of the wrong kind), right for swiglu and gelu, then a right
 *               down projection. Not the tanh form here: behind a down
 *               projection its 1e-4 relative error shows only on sparse
 *               rows (tanh_act_down.c has it; ops.md, act_down)
 * Plain C in double, rounded once, one thread: no other defect to confuse
 * the verdicts. tests/unit/test_parity.c checks that `ckbench parity` fails
 * them and names the kernels, and passes act_down's swiglu and gelu. */
#include <math.h>

#include "act_down_ref.h"
#include "test_plugin.h"

static int gelu_erf_in_tanh_form(const ck_exec_ctx *ctx, const void *args)
{
    const ck_unary_args *a = args;
    (void)ctx;
    for (size_t i = 0; i < a->n; i++) {
        double x = a->x[i];
        a->y[i] = (float)(0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))));
    }
    return CK_OK;
}

static int quick_gelu_with_1_7(const ck_exec_ctx *ctx, const void *args)
{
    const ck_unary_args *a = args;
    (void)ctx;
    for (size_t i = 0; i < a->n; i++) {
        double x = a->x[i];
        a->y[i] = (float)(x / (1.0 + exp(-1.7 * x)));
    }
    return CK_OK;
}

static int act_down_with_both(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_act_down_args *f = args;
    const ck_linear_args *d = &f->down;
    float *h = f->act_kind == CK_ACTIVATION_SWIGLU ? f->swiglu.y : f->gelu.y; /* down.x: written, as the members do */
    if (f->act_kind == CK_ACTIVATION_SWIGLU) {
        ref_swiglu(&f->swiglu, h);
    } else if (f->act_kind == CK_ACTIVATION_GELU) {
        ref_gelu_tanh(&f->gelu, h);
    } else if (f->act_kind == CK_ACTIVATION_GELU_ERF || f->act_kind == CK_ACTIVATION_QUICK_GELU) {
        for (size_t i = 0; i < f->gelu.n; i++) { /* the defect: 2 and 3 swapped */
            double x = f->gelu.x[i];
            h[i] = (float)(f->act_kind == CK_ACTIVATION_GELU_ERF ? x / (1.0 + exp(-1.702 * x))
                                                                 : 0.5 * x * erfc(-x * 0.70710678118654752440));
        }
    } else {
        return CK_E_UNSUPPORTED;
    }
    if (d->w_dtype != CK_DTYPE_F32)
        return CK_E_UNSUPPORTED;
    ref_down(d, h);
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_GELU_ERF, CK_DTYPE_F32, 0, "f32-gelu_erf/tanh-form", gelu_erf_in_tanh_form},
    {CK_OP_QUICK_GELU, CK_DTYPE_F32, 0, "f32-quick_gelu/1.7", quick_gelu_with_1_7},
    {CK_OP_ACT_DOWN, CK_DTYPE_F32, CK_KF_FUSED | CK_KF_ACT_DOWN_UNARY, "f32-act_down/kinds-2-3-swapped",
     act_down_with_both},
};

CK_TEST_PLUGIN("broken_act",
               "gelu_erf in gelu's tanh form, quick_gelu with 1.7 for 1.702 (alone); act_down's kinds 2 and 3 swapped")
