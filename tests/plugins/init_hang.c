/* Hostile plugin: init never returns. The loader must give up on it. */
#include <unistd.h>

#include "ck_plugin.h"

static int noop(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    (void)args;
    return 0;
}
static int init(void)
{
    for (;;)
        pause();
    return 0;
}
static const ck_kernel_desc kernels[] = {{CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/init_hang", noop}};
static const ck_plugin_desc desc = {
    CK_ABI_VERSION, sizeof(ck_plugin_desc), "init_hang",     "0", "init hangs", NULL, kernels, 1, init,
    NULL,           sizeof(ck_kernel_desc), CK_ARGS_REVISION};
CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
