/* Loader test: a plugin built against a newer ck_plugin.h (same ABI
 * version): its description and its kernel entries each carry a field this
 * host does not know, and its table holds a kernel of an op id and one of a
 * dtype id from the future. The host must skip those two, name them, and
 * load and run the add kernel; its attn_proj kernel (args revision 2) loads. */
#include "ck_plugin.h"

typedef struct newer_kernel_desc {
    ck_kernel_desc base;
    uint64_t max_rows; /* a field from the future */
} newer_kernel_desc;

typedef struct newer_plugin_desc {
    ck_plugin_desc base;
    uint64_t future_flags;
} newer_plugin_desc;

static int add_f32(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_add_args *a = args;
    for (size_t i = 0; i < a->n; i++)
        a->y[i] = a->a[i] + a->b[i];
    return CK_OK;
}

static const newer_kernel_desc kernels[] = {
    {{CK_OP_COUNT + 7, CK_DTYPE_F32, 0, "f32-futureop/newer", add_f32}, 64},
    {{CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/newer", add_f32}, 1u << 20},
    {{CK_OP_LINEAR, CK_DTYPE_COUNT + 3, 0, "f8-linear/newer", add_f32}, 0},
    {{CK_OP_ATTN_PROJ, CK_DTYPE_F32, CK_KF_FUSED, "f32-attn_proj/newer", add_f32}, 0},
};

static const newer_plugin_desc desc = {{.abi_version = CK_ABI_VERSION,
                                        .struct_size = sizeof(newer_plugin_desc),
                                        .name = "newer_abi",
                                        .version = "2.0",
                                        .description = "built against a newer header",
                                        .kernels = &kernels[0].base,
                                        .n_kernels = 4,
                                        .kernel_size = sizeof(newer_kernel_desc),
                                        .args_revision = CK_ARGS_REVISION},
                                       0xffu};

CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc.base;
}
