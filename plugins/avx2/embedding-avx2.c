/* The embedding gather shared by the f32, bf16 and f16 kernels (exact
 * class): each row is copied, or widened eight values at a time with a
 * buffered tail; rows split over the threads. */
#include "avx2-helpers.h"

static void gather_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ck_embedding_args *a = arg;
    (void)tid;
    size_t D = a->D;
    for (size_t t = begin; t < end; t++) {
        size_t first = (size_t)a->ids[t] * D;
        float *dst = a->y + t * D;
        if (a->dtype == CK_DTYPE_F32) {
            memcpy(dst, (const float *)a->table + first, D * sizeof(float));
            continue;
        }
        size_t i = 0;
        for (; i + 8 <= D; i += 8)
            _mm256_storeu_ps(dst + i, avx2_load_w8(a->table, a->dtype, first + i));
        if (i < D)
            _mm256_maskstore_ps(dst + i, avx2_tail_mask(D - i), avx2_load_w_tail(a->table, a->dtype, first + i, D - i));
    }
}

int avx2_embedding(const ck_exec_ctx *ctx, const ck_embedding_args *a, uint32_t dtype)
{
    if (!a || a->dtype != dtype || !avx2_weight_dtype_ok(dtype))
        return CK_E_UNSUPPORTED;
    if (a->T == 0 || a->D == 0)
        return CK_OK;
    if (!a->ids || !a->table || !a->y)
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++)
        if (a->ids[t] < 0 || (size_t)a->ids[t] >= a->vocab)
            return CK_E_UNSUPPORTED;
    ck_embedding_args job = *a; /* a mutable copy for the void * of parallel_for */
    avx2_parallel(ctx, a->T, 16, gather_rows, &job);
    return CK_OK;
}
