/* A plugin built before act_down's CK_ACTIVATION_GELU_ERF and QUICK_GELU:
 * its act_down kernel knows swiglu and gelu and, as such a kernel would,
 * takes every other act_kind for gelu; it claims no CK_KF_ACT_DOWN_UNARY.
 * The host must never hand it the new kinds: the fusion pass leaves a
 * gelu_erf or quick_gelu MLP unfused (its members run as they are), and
 * parity skips those cases as not claimed (tests/unit/test_fusion.c,
 * test_parity.c). Plain C in double, one thread. */
#include "act_down_ref.h"
#include "test_plugin.h"

static int act_down_before_unary(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_act_down_args *f = args;
    const ck_linear_args *d = &f->down;
    (void)ctx;
    if (d->w_dtype != CK_DTYPE_F32)
        return CK_E_UNSUPPORTED;
    float *h = f->act_kind == CK_ACTIVATION_SWIGLU ? f->swiglu.y : f->gelu.y;
    if (f->act_kind == CK_ACTIVATION_SWIGLU)
        ref_swiglu(&f->swiglu, h);
    else /* its era's "not swiglu": gelu, the tanh form */
        ref_gelu_tanh(&f->gelu, h);
    ref_down(d, h);
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ACT_DOWN, CK_DTYPE_F32, CK_KF_FUSED, "f32-act_down/before-unary", act_down_before_unary},
};

CK_TEST_PLUGIN("old_act_down", "act_down built before gelu_erf and quick_gelu")
