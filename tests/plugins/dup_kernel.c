/* Loader test: two kernels for the same op, dtype and flags. */
#include "ck_plugin.h"

static int noop(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    (void)args;
    return 0;
}
static const ck_kernel_desc kernels[] = {
    {CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/one", noop},
    {CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/two", noop},
};
static const ck_plugin_desc desc = {
    CK_ABI_VERSION, sizeof(ck_plugin_desc), "dup_kernel",    "0", "duplicate", NULL, kernels, 2, NULL,
    NULL,           sizeof(ck_kernel_desc), CK_ARGS_REVISION};
CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
