/* Loader test: a plugin built against the header of the kernel_size era,
 * before ck_plugin_desc.args_revision: its description ends at kernel_size.
 * Its attn_proj kernel reads ck_fused_attn_proj_args.proj where it was
 * before ck_attention_args grew, so the host must skip it and name it; its
 * attention kernel (which reads only fields that did not move) loads. */
#include "ck_plugin.h"

static int noop(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    (void)args;
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ATTN_PROJ, CK_DTYPE_F32, CK_KF_FUSED, "f32-attn_proj/pre_rev2", noop},
    {CK_OP_ATTENTION, CK_DTYPE_F32, 0, "f32-attention/pre_rev2", noop},
};

static const ck_plugin_desc desc = {.abi_version = CK_ABI_VERSION,
                                    .struct_size = offsetof(ck_plugin_desc, args_revision),
                                    .name = "pre_rev2",
                                    .version = "1.1",
                                    .description = "built before args_revision",
                                    .kernels = kernels,
                                    .n_kernels = 2,
                                    .kernel_size = sizeof(ck_kernel_desc),
                                    .args_revision = 7 /* beyond its struct_size: never read */};

CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
