/* Test plugin for `ckbench inspect --nan-alert`: a correct AdamW (scalar's
 * arithmetic) except that at step 3 the fourth weight it updates gets a NaN
 * at element 5, as a diverging optimizer would leave one. Everything else
 * falls back to scalar. */
#include <math.h>

#include "ck_plugin.h"

static int adam(const ck_exec_ctx *ctx, const void *args)
{
    static unsigned calls_at_step_3;
    const ck_adam_args *a = args;
    (void)ctx;
    if (!a || a->step == 0)
        return CK_E_UNSUPPORTED;
    for (size_t i = 0; i < a->n; i++) {
        float g = a->g[i];
        float m = a->beta1 * a->m[i] + (1.0f - a->beta1) * g;
        float v = a->beta2 * a->v[i] + (1.0f - a->beta2) * (g * g);
        float w = a->w[i];
        a->w[i] = w - a->lr * ((m / a->bc1) / (sqrtf(v / a->bc2) + a->eps) + a->weight_decay * w);
        a->m[i] = m;
        a->v[i] = v;
    }
    if (a->step == 3 && ++calls_at_step_3 == 4 && a->n > 5)
        a->w[5] = NAN;
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {{CK_OP_ADAM, CK_DTYPE_F32, 0, "f32-adam/nan-at-step-3", adam}};
static const ck_plugin_desc desc = {CK_ABI_VERSION,
                                    sizeof(ck_plugin_desc),
                                    "nan_adam",
                                    "0",
                                    "AdamW that leaves a NaN at step 3",
                                    NULL,
                                    kernels,
                                    1,
                                    NULL,
                                    NULL,
                                    sizeof(ck_kernel_desc),
                                    CK_ARGS_REVISION};
CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
