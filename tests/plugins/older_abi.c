/* Loader test: a plugin built against the first ABI v1 header, before
 * ck_plugin_desc had kernel_size: its description is CK_PLUGIN_DESC_V1_SIZE
 * bytes. It must still load, its table read at the original stride; its
 * attn_proj kernel, built before ck_attention_args grew (args revision 1),
 * must be skipped and named, never handed the moved .proj. */
#include "ck_plugin.h"

static int add_f32(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_add_args *a = args;
    for (size_t i = 0; i < a->n; i++)
        a->y[i] = a->a[i] + a->b[i];
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/older", add_f32},
    {CK_OP_ADD, CK_DTYPE_F32, CK_KF_INPLACE, "f32-add-inplace/older", add_f32},
    {CK_OP_ATTN_PROJ, CK_DTYPE_F32, CK_KF_FUSED, "f32-attn_proj/older", add_f32},
};

static const ck_plugin_desc desc = {.abi_version = CK_ABI_VERSION,
                                    .struct_size = CK_PLUGIN_DESC_V1_SIZE,
                                    .name = "older_abi",
                                    .version = "1.0",
                                    .description = "built before kernel_size",
                                    .kernels = kernels,
                                    .n_kernels = 3,
                                    .kernel_size = 12345 /* beyond its struct_size: never read */};

CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
