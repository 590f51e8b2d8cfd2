/* Test plugin for `ckbench diverge`: a correct plugin except that its
 * rmsnorm is 0.1% too large, so the first rmsnorm of a model must be named
 * as the first divergence. Everything else falls back to scalar. */
#include "ck_plugin.h"
#include "norm_ref.h"

static int rmsnorm(const ck_exec_ctx *ctx, const void *args)
{
    const ck_norm_args *a = args;
    (void)ctx;
    for (size_t t = 0; t < a->T; t++)
        ref_rmsnorm_row(a->x + t * a->D, a->y + t * a->D, a->gamma, a->D, a->eps, 1.001);
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {{CK_OP_RMSNORM, CK_DTYPE_F32, 0, "f32-rmsnorm/skewed", rmsnorm}};
static const ck_plugin_desc desc = {
    CK_ABI_VERSION, sizeof(ck_plugin_desc), "skewed_norm",   "0", "rmsnorm 0.1% off", NULL, kernels, 1, NULL,
    NULL,           sizeof(ck_kernel_desc), CK_ARGS_REVISION};
CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
