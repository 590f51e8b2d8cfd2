/* embedding (exact class) with a bf16 table: y[t] = f32(table[ids[t]]),
 * each value widened exactly (its bits become the high half of the f32),
 * eight at a time with a buffered tail; rows split over the threads. An id
 * outside [0, vocab) is refused before anything is written. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

static void widen_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ck_embedding_args *a = arg;
    (void)tid;
    for (size_t t = begin; t < end; t++) {
        const uint16_t *src = (const uint16_t *)a->table + (size_t)a->ids[t] * a->D;
        float *dst = a->y + t * a->D;
        size_t i = 0;
        for (; i + 8 <= a->D; i += 8)
            _mm256_storeu_ps(dst + i, avx2_load_bf16x8(src + i));
        if (i < a->D)
            _mm256_maskstore_ps(dst + i, avx2_tail_mask(a->D - i), avx2_load_bf16_tail(src + i, a->D - i));
    }
}

int ck_avx2_bf16_embedding(const ck_exec_ctx *ctx, const void *args)
{
    const ck_embedding_args *a = args;
    if (!a || a->dtype != CK_DTYPE_BF16)
        return CK_E_UNSUPPORTED;
    if (a->T == 0 || a->D == 0)
        return CK_OK;
    if (!a->ids || !a->table || !a->y)
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++)
        if (a->ids[t] < 0 || (size_t)a->ids[t] >= a->vocab)
            return CK_E_UNSUPPORTED;
    ck_embedding_args job = *a;
    avx2_parallel(ctx, a->T, 16, widen_rows, &job);
    return CK_OK;
}
