/* embedding, f32 table, NEON (EXACT class): y[t] = table[ids[t]], a copy.
 * Every id is checked before anything is written. */
#include "neon-common.h"

static void copy_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ck_embedding_args *a = arg;
    (void)tid;
    const float *table = a->table;
    size_t D = a->D;
    for (size_t t = begin; t < end; t++) {
        const float *src = table + (size_t)a->ids[t] * D;
        float *dst = a->y + t * D;
        size_t i = 0;
        for (; i + 4 <= D; i += 4)
            vst1q_f32(dst + i, vld1q_f32(src + i));
        for (; i < D; i++)
            dst[i] = src[i];
    }
}

int ck_neon_f32_embedding(const ck_exec_ctx *ctx, const void *args)
{
    const ck_embedding_args *a = args;
    if (a->dtype != CK_DTYPE_F32)
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++)
        if (a->ids[t] < 0 || (size_t)a->ids[t] >= a->vocab)
            return CK_E_UNSUPPORTED;
    ctx->parallel_for(ctx, a->T, 1, copy_rows, (void *)a);
    return CK_OK;
}
