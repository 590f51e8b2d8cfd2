/* embedding (exact class) with an f32 table: y[t] = table[ids[t]], a copy
 * of each row; rows split over the threads. An id outside [0, vocab) is
 * refused before anything is written. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

static void copy_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ck_embedding_args *a = arg;
    (void)tid;
    const float *table = a->table;
    for (size_t t = begin; t < end; t++)
        memcpy(a->y + t * a->D, table + (size_t)a->ids[t] * a->D, a->D * sizeof(float));
}

int ck_avx2_f32_embedding(const ck_exec_ctx *ctx, const void *args)
{
    const ck_embedding_args *a = args;
    if (!a || a->dtype != CK_DTYPE_F32)
        return CK_E_UNSUPPORTED;
    if (a->T == 0 || a->D == 0)
        return CK_OK;
    if (!a->ids || !a->table || !a->y)
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++)
        if (a->ids[t] < 0 || (size_t)a->ids[t] >= a->vocab)
            return CK_E_UNSUPPORTED;
    ck_embedding_args job = *a;
    avx2_parallel(ctx, a->T, 16, copy_rows, &job);
    return CK_OK;
}
