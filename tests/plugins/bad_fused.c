/* Test plugin: a fused add+rmsnorm that forgets gamma. diverge --fuse must
 * name the fused group; everything else falls back to scalar. */
#include <math.h>

#include "ck_plugin.h"

static int add_norm(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_add_norm_args *a = args;
    (void)ctx;
    if (a->norm_kind != CK_NORM_RMS)
        return CK_E_UNSUPPORTED;
    for (size_t i = 0; i < a->add.n; i++)
        a->add.y[i] = a->add.a[i] + a->add.b[i];
    for (size_t t = 0; t < a->norm.T; t++) {
        const float *x = a->add.y + t * a->norm.D;
        double ss = 0;
        for (size_t i = 0; i < a->norm.D; i++)
            ss += (double)x[i] * x[i];
        double r = 1.0 / sqrt(ss / (double)a->norm.D + a->norm.eps);
        for (size_t i = 0; i < a->norm.D; i++)
            a->norm.y[t * a->norm.D + i] = (float)(x[i] * r); /* the bug: no gamma */
    }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ADD_NORM, CK_DTYPE_F32, CK_KF_FUSED, "f32-add_norm/bad", add_norm},
};
static const ck_plugin_desc desc = {
    CK_ABI_VERSION, sizeof(ck_plugin_desc), "bad_fused",     "0", "add_norm without gamma", NULL, kernels, 1, NULL,
    NULL,           sizeof(ck_kernel_desc), CK_ARGS_REVISION};
CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
