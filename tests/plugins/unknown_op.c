/* Loader test: a kernel for an op id this host does not know. */
#include "ck_plugin.h"

static int noop(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    (void)args;
    return 0;
}
static const ck_kernel_desc kernels[] = {{CK_OP_COUNT + 100, CK_DTYPE_F32, 0, "f32-future/bad", noop}};
static const ck_plugin_desc desc = {
    CK_ABI_VERSION, sizeof(ck_plugin_desc), "unknown_op",    "0", "unknown op", NULL, kernels, 1, NULL,
    NULL,           sizeof(ck_kernel_desc), CK_ARGS_REVISION};
CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
