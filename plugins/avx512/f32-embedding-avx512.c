/* f32-embedding/avx512 (exact class): y[t] = table[ids[t]], a copy. */
#include "avx512-kernels.h"
#include "embedding-avx512.h"

static void copy_f32_row(const void *table, size_t row, size_t D, float *dst)
{
    const float *src = (const float *)table + row * D;
    size_t i = 0;
    for (; i + 16 <= D; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
    if (i < D)
        ck512_store_tail(dst + i, ck512_load_tail(src + i, D - i), D - i);
}

int ck_avx512_f32_embedding(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_embedding(ctx, args, CK_DTYPE_F32, copy_f32_row);
}
