/* f16-embedding/avx512 (exact class): y[t] = table[ids[t]], each IEEE f16
 * converted exactly to f32 by vcvtph2ps. */
#include "avx512-kernels.h"
#include "embedding-avx512.h"

static void convert_f16_row(const void *table, size_t row, size_t D, float *dst)
{
    const uint16_t *src = (const uint16_t *)table + row * D;
    size_t i = 0;
    for (; i + 16 <= D; i += 16)
        _mm512_storeu_ps(dst + i, ck512_load_f16(src + i));
    if (i < D)
        ck512_store_tail(dst + i, ck512_load_f16_tail(src + i, D - i), D - i);
}

int ck_avx512_f16_embedding(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_embedding(ctx, args, CK_DTYPE_F16, convert_f16_row);
}
