/* Loader test: a plugin built against this header that forgot kernel_size;
 * the host cannot know its table's stride and refuses it, saying how to fix. */
#include "ck_plugin.h"

static int noop(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    (void)args;
    return 0;
}
static const ck_kernel_desc kernels[] = {{CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/nosize", noop}};
static const ck_plugin_desc desc = {.abi_version = CK_ABI_VERSION,
                                    .struct_size = sizeof(ck_plugin_desc),
                                    .name = "no_kernel_size",
                                    .version = "0",
                                    .description = "kernel_size left 0",
                                    .kernels = kernels,
                                    .n_kernels = 1};
CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
