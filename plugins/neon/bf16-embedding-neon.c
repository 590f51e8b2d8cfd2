/* embedding, bf16 table, NEON (EXACT class): y[t] = f32(table[ids[t]]); the
 * widening is a 16-bit shift, exact. The id checks and the split are
 * neon-embedding-driver.c. */
#include "neon-common.h"

static void widen_row(const void *src_row, float *dst, size_t D)
{
    const uint16_t *src = src_row;
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

int ck_neon_bf16_embedding(const ck_exec_ctx *ctx, const void *args)
{
    return ck_neon_embedding_drive(ctx, args, CK_DTYPE_BF16, widen_row);
}
