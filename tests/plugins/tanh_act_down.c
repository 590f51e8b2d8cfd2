/* The parity gate's test subject for act_down's activation behind its
 * projection: an f32 act_down claiming CK_KF_ACT_DOWN_UNARY whose gelu_erf
 * is gelu's tanh form (within 5e-4 of erf gelu, about 1e-4 relative where
 * |x| is 1-3), everything else right (act_down_ref.h). On dense rows that
 * error is within what the projection's f32 sum may add; the sparse-input
 * cases (harness/parity/parity_cover.c) must name it. Plain C in double,
 * rounded once, one thread. tests/unit/test_parity.c checks the verdicts. */
#include <math.h>

#include "act_down_ref.h"
#include "test_plugin.h"

static int act_down_erf_as_tanh(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_act_down_args *f = args;
    float *h = f->act_kind == CK_ACTIVATION_SWIGLU ? f->swiglu.y : f->gelu.y; /* down.x: written, as the members do */
    (void)ctx;
    if (f->down.w_dtype != CK_DTYPE_F32)
        return CK_E_UNSUPPORTED;
    switch (f->act_kind) {
    case CK_ACTIVATION_SWIGLU: ref_swiglu(&f->swiglu, h); break;
    case CK_ACTIVATION_GELU:
    case CK_ACTIVATION_GELU_ERF: ref_gelu_tanh(&f->gelu, h); break; /* the defect: erf's kind in the tanh form */
    case CK_ACTIVATION_QUICK_GELU:
        for (size_t i = 0; i < f->gelu.n; i++) {
            double x = f->gelu.x[i];
            h[i] = (float)(x / (1.0 + exp(-1.702 * x)));
        }
        break;
    default: return CK_E_UNSUPPORTED;
    }
    ref_down(&f->down, h);
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ACT_DOWN, CK_DTYPE_F32, CK_KF_FUSED | CK_KF_ACT_DOWN_UNARY, "f32-act_down/erf-as-tanh",
     act_down_erf_as_tanh},
};

CK_TEST_PLUGIN("tanh_act_down", "act_down whose gelu_erf is gelu's tanh form")
