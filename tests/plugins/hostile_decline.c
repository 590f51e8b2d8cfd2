/* Bad plugin for silent fallbacks: kernels right at the small sizes the
 * edge suite and reduced model cases use, that decline (CK_E_UNSUPPORTED)
 * a model's real sizes, which `run` would quietly hand to another kernel.
 *   rmsnorm     declines T > 8
 *   linear f32  declines T > 128 (passes at the reduced rows of a model,
 *               declines its full rows)
 * Each computes in double and rounds once, like the reference. */
#include <math.h>

#include "ck_plugin.h"

static int rmsnorm_small_only(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_norm_args *a = args;
    if (a->T > 8)
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++) {
        const float *x = a->x + t * a->D;
        double ss = 0;
        for (size_t i = 0; i < a->D; i++)
            ss += (double)x[i] * (double)x[i];
        double inv = 1.0 / sqrt(ss / (double)a->D + (double)a->eps);
        for (size_t i = 0; i < a->D; i++)
            a->y[t * a->D + i] = (float)((double)x[i] * inv * (double)a->gamma[i]);
    }
    return CK_OK;
}

static int linear_small_only(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_linear_args *a = args;
    if (a->T > 128 || a->w_dtype != CK_DTYPE_F32)
        return CK_E_UNSUPPORTED;
    const float *w = a->w;
    for (size_t t = 0; t < a->T; t++)
        for (size_t n = 0; n < a->N; n++) {
            double acc = a->bias ? (double)a->bias[n] : 0.0;
            for (size_t k = 0; k < a->K; k++)
                acc += (double)a->x[t * a->K + k] * (double)w[n * a->K + k];
            a->y[t * a->N + n] = (float)acc;
        }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_RMSNORM, CK_DTYPE_F32, 0, "f32-rmsnorm/hostile-small", rmsnorm_small_only},
    {CK_OP_LINEAR, CK_DTYPE_F32, 0, "f32-linear/hostile-small", linear_small_only},
};

static const ck_plugin_desc desc = {
    .abi_version = CK_ABI_VERSION,
    .struct_size = sizeof(ck_plugin_desc),
    .kernel_size = sizeof(ck_kernel_desc),
    .args_revision = CK_ARGS_REVISION,
    .name = "hostile_decline",
    .version = "0.0.1",
    .description = "right at small sizes, declines a model's real ones",
    .kernels = kernels,
    .n_kernels = sizeof kernels / sizeof kernels[0],
};

CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
