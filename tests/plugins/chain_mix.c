/* Chain test: a plugin with three exact kernels, f32 add (also in
 * chain_add, so the chain's order decides which runs), the f32 embedding
 * gather and its backward scatter-add (only here: a training step's
 * backward must find it past the chain's first plugin). All give the
 * reference's bits. */
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

/* dtable[ids[t]] += dy[t] in t order, as the reference adds (exact) */
static int embedding_bwd(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_embedding_bwd_args *a = args;
    for (size_t t = 0; t < a->T; t++)
        if (a->ids[t] < 0 || (size_t)a->ids[t] >= a->vocab)
            return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++)
        for (size_t i = 0; i < a->D; i++)
            a->dtable[(size_t)a->ids[t] * a->D + i] += a->dy[t * a->D + i];
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/chain_mix", add},
    {CK_OP_EMBEDDING, CK_DTYPE_F32, 0, "f32-embedding/chain_mix", embedding},
    {CK_OP_EMBEDDING_BWD, CK_DTYPE_F32, 0, "f32-embedding_bwd/chain_mix", embedding_bwd},
};
static const ck_plugin_desc desc = {CK_ABI_VERSION,
                                    sizeof(ck_plugin_desc),
                                    "chain_mix",
                                    "1.0.0",
                                    "chain test: add, embedding and its backward",
                                    NULL,
                                    kernels,
                                    3,
                                    NULL,
                                    NULL,
                                    sizeof(ck_kernel_desc),
                                    CK_ARGS_REVISION};
CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
