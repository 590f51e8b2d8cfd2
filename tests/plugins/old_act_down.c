/* A plugin built before act_down's CK_ACTIVATION_GELU_ERF and QUICK_GELU:
 * its act_down kernel knows swiglu and gelu and, as such a kernel would,
 * takes every other act_kind for gelu; it claims no CK_KF_ACT_DOWN_UNARY.
 * The host must never hand it the new kinds: the fusion pass leaves a
 * gelu_erf or quick_gelu MLP unfused (its members run as they are), and
 * parity skips those cases as not claimed (tests/unit/test_fusion.c,
 * test_parity.c). Plain C in double, one thread. */
#include <math.h>

#include "ck_plugin.h"

static int act_down_before_unary(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_act_down_args *f = args;
    const ck_linear_args *d = &f->down;
    (void)ctx;
    if (d->w_dtype != CK_DTYPE_F32)
        return CK_E_UNSUPPORTED;
    float *h = f->act_kind == CK_ACTIVATION_SWIGLU ? f->swiglu.y : f->gelu.y;
    if (f->act_kind == CK_ACTIVATION_SWIGLU)
        for (size_t i = 0; i < f->swiglu.n; i++) {
            double g = f->swiglu.gate[i];
            h[i] = (float)(g / (1.0 + exp(-g)) * f->swiglu.up[i]);
        }
    else /* its era's "not swiglu": gelu, the tanh form */
        for (size_t i = 0; i < f->gelu.n; i++) {
            double x = f->gelu.x[i];
            h[i] = (float)(0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))));
        }
    const float *w = d->w;
    for (size_t t = 0; t < d->T; t++)
        for (size_t n = 0; n < d->N; n++) {
            double acc = d->bias ? d->bias[n] : 0.0;
            for (size_t k = 0; k < d->K; k++)
                acc += (double)h[t * d->K + k] * w[n * d->K + k];
            d->y[t * d->N + n] = (float)acc;
        }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ACT_DOWN, CK_DTYPE_F32, CK_KF_FUSED, "f32-act_down/before-unary", act_down_before_unary},
};

static const ck_plugin_desc desc = {.abi_version = CK_ABI_VERSION,
                                    .struct_size = sizeof(ck_plugin_desc),
                                    .name = "old_act_down",
                                    .version = "0",
                                    .description = "act_down built before gelu_erf and quick_gelu",
                                    .kernels = kernels,
                                    .n_kernels = sizeof kernels / sizeof kernels[0],
                                    .kernel_size = sizeof(ck_kernel_desc),
                                    .args_revision = CK_ARGS_REVISION};

CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
