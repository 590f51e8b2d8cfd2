/* embedding, f32 table, NEON (EXACT class): y[t] = table[ids[t]], a copy.
 * The id checks and the split are neon-embedding-driver.c. */
#include "neon-common.h"

static void copy_row(const void *src_row, float *dst, size_t D)
{
    const float *src = src_row;
    size_t i = 0;
    for (; i + 4 <= D; i += 4)
        vst1q_f32(dst + i, vld1q_f32(src + i));
    for (; i < D; i++)
        dst[i] = src[i];
}

int ck_neon_f32_embedding(const ck_exec_ctx *ctx, const void *args)
{
    return ck_neon_embedding_drive(ctx, args, CK_DTYPE_F32, copy_row);
}
