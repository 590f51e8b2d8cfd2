/* Loader test: the description claims a smaller struct than this host's. */
#include "ck_plugin.h"

static int noop(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    (void)args;
    return 0;
}
static const ck_kernel_desc kernels[] = {{CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/bad", noop}};
static const ck_plugin_desc desc = {
    CK_ABI_VERSION, 24, "small_struct", "0", "struct too small", NULL, kernels, 1, NULL, NULL, 0, 0};
CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
