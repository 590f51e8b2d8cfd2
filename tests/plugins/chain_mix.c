/* Chain test: a plugin with two exact kernels, f32 add (also in chain_add,
 * so the chain's order decides which runs) and the f32 embedding gather
 * (only here). Both give the reference's bits. */
#include <string.h>

#include "ck_plugin.h"

static int add(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_add_args *a = args;
    for (size_t i = 0; i < a->n; i++)
        a->y[i] = a->a[i] + a->b[i];
    return CK_OK;
}

static int embedding(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_embedding_args *a = args;
    if (a->dtype != CK_DTYPE_F32)
        return CK_E_UNSUPPORTED;
    const float *table = a->table;
    for (size_t t = 0; t < a->T; t++)
        memcpy(a->y + t * a->D, table + (size_t)a->ids[t] * a->D, a->D * sizeof(float));
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/chain_mix", add},
    {CK_OP_EMBEDDING, CK_DTYPE_F32, 0, "f32-embedding/chain_mix", embedding},
};
static const ck_plugin_desc desc = {CK_ABI_VERSION,
                                    sizeof(ck_plugin_desc),
                                    "chain_mix",
                                    "1.0.0",
                                    "chain test: add and embedding",
                                    NULL,
                                    kernels,
                                    2,
                                    NULL,
                                    NULL,
                                    sizeof(ck_kernel_desc),
                                    CK_ARGS_REVISION};
CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
