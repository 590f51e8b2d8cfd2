/* embedding, bf16 table, NEON (EXACT class): y[t] = f32(table[ids[t]]); the
 * widening is a 16-bit shift, exact. Every id is checked before anything is
 * written. */
#include "neon-common.h"

static void widen_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ck_embedding_args *a = arg;
    (void)tid;
    const uint16_t *table = a->table;
    size_t D = a->D;
    for (size_t t = begin; t < end; t++) {
        const uint16_t *src = table + (size_t)a->ids[t] * D;
        float *dst = a->y + t * D;
        size_t i = 0;
        for (; i + 8 <= D; i += 8) {
            float32x4_t lo, hi;
            ck_neon_bf16x8_to_f32(src + i, &lo, &hi);
            vst1q_f32(dst + i, lo);
            vst1q_f32(dst + i + 4, hi);
        }
        for (; i < D; i++)
            dst[i] = ck_bf16_to_f32(src[i]);
    }
}

int ck_neon_bf16_embedding(const ck_exec_ctx *ctx, const void *args)
{
    const ck_embedding_args *a = args;
    if (a->dtype != CK_DTYPE_BF16)
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++)
        if (a->ids[t] < 0 || (size_t)a->ids[t] >= a->vocab)
            return CK_E_UNSUPPORTED;
    ctx->parallel_for(ctx, a->T, 1, widen_rows, (void *)a);
    return CK_OK;
}
