/* embedding, f16 table, NEON (EXACT class): y[t] = f32(table[ids[t]]),
 * widened with FCVTL, exact for every finite value and infinity. The id
 * checks and the split are neon-embedding-driver.c. */
#include "neon-common.h"

static void widen_row(const void *src_row, float *dst, size_t D)
{
    const uint16_t *src = src_row;
    size_t i = 0;
    for (; i + 4 <= D; i += 4)
        vst1q_f32(dst + i, ck_neon_f16x4_to_f32(src + i));
    for (; i < D; i++)
        dst[i] = ck_f16_to_f32(src[i]);
}

int ck_neon_f16_embedding(const ck_exec_ctx *ctx, const void *args)
{
    return ck_neon_embedding_drive(ctx, args, CK_DTYPE_F16, widen_row);
}
