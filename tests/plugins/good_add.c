/* Loader test: the smallest correct plugin (one exact add kernel). */
#include "ck_plugin.h"

static int add(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_add_args *a = args;
    for (size_t i = 0; i < a->n; i++)
        a->y[i] = a->a[i] + a->b[i];
    return CK_OK;
}
static int inits;
static int init(void)
{
    inits++;
    return 0;
}
static const ck_kernel_desc kernels[] = {{CK_OP_ADD, CK_DTYPE_F32, CK_KF_INPLACE, "f32-add/good", add}};
static const ck_plugin_desc desc = {
    CK_ABI_VERSION, sizeof(ck_plugin_desc), "good_add",      "1.2.3", "one add kernel", NULL, kernels, 1, init,
    NULL,           sizeof(ck_kernel_desc), CK_ARGS_REVISION};
CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
