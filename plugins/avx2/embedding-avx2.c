/* The embedding gather shared by the f32, bf16 and f16 kernels (exact
 * class): each row is copied, or widened eight values at a time with a
 * buffered tail (a large y then written with streaming stores); rows
 * split over the threads. */
#include "avx2-helpers.h"

typedef struct gather_job {
    ck_embedding_args a;
    int stream; /* non-temporal stores for y */
} gather_job;

static inline void gather_masked(const ck_embedding_args *a, float *dst, size_t first, size_t i, size_t n)
{
    _mm256_maskstore_ps(dst + i, avx2_tail_mask(n), avx2_load_w_tail(a->table, a->dtype, first + i, n));
}

static void gather_rows(void *arg, size_t begin, size_t end, int tid)
{
    const gather_job *j = arg;
    const ck_embedding_args *a = &j->a;
    (void)tid;
    size_t D = a->D;
    for (size_t t = begin; t < end; t++) {
        size_t first = (size_t)a->ids[t] * D;
        float *dst = a->y + t * D;
        if (a->dtype == CK_DTYPE_F32) {
            memcpy(dst, (const float *)a->table + first, D * sizeof(float));
            continue;
        }
        size_t i = j->stream ? avx2_peel(dst, D) : 0; /* streaming stores need an aligned y */
        if (i)
            gather_masked(a, dst, first, 0, i);
        for (; i + 8 <= D; i += 8)
            avx2_store8(dst + i, avx2_load_w8(a->table, a->dtype, first + i), j->stream);
        if (i < D)
            gather_masked(a, dst, first, i, D - i);
    }
    if (j->stream)
        _mm_sfence();
}

int avx2_embedding(const ck_exec_ctx *ctx, const ck_embedding_args *a, uint32_t dtype)
{
    if (a->dtype != dtype || !avx2_weight_dtype_ok(dtype))
        return CK_E_UNSUPPORTED;
    if (a->T == 0 || a->D == 0)
        return CK_OK;
    for (size_t t = 0; t < a->T; t++)
        if (a->ids[t] < 0 || (size_t)a->ids[t] >= a->vocab)
            return CK_E_UNSUPPORTED;
    /* f32 rows go through memcpy, which measured faster here than
     * streaming stores; widened rows stream when y is large */
    gather_job job = {*a, dtype != CK_DTYPE_F32 && avx2_should_stream(a->T * a->D * sizeof(float), a->y, a->table)};
    avx2_parallel(ctx, a->T, 16, gather_rows, &job);
    return CK_OK;
}
