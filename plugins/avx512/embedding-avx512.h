/* embedding-avx512.h — the row loop shared by the f32 and bf16 embedding
 * kernels: ids are checked first (nothing is written for a bad id), then
 * rows are copied in parallel, each through the dtype's row converter. */
#ifndef CK_EMBEDDING_AVX512_H
#define CK_EMBEDDING_AVX512_H

#include "avx512-helpers.h"

typedef void (*ck512_embed_row_fn)(const void *table, size_t row, size_t D, float *dst);

typedef struct ck512_embed_job {
    const ck_embedding_args *a;
    ck512_embed_row_fn row;
} ck512_embed_job;

static void ck512_embed_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck512_embed_job *j = arg;
    (void)tid;
    for (size_t t = begin; t < end; t++)
        j->row(j->a->table, (size_t)j->a->ids[t], j->a->D, j->a->y + t * j->a->D);
}

static inline int ck512_embedding(const ck_exec_ctx *ctx, const ck_embedding_args *a, uint32_t dtype,
                                  ck512_embed_row_fn row)
{
    if (a->dtype != dtype)
        return CK_E_UNSUPPORTED;
    if (a->T == 0 || a->D == 0)
        return CK_OK;
    for (size_t t = 0; t < a->T; t++)
        if (a->ids[t] < 0 || (size_t)a->ids[t] >= a->vocab)
            return CK_E_UNSUPPORTED;
    ck512_embed_job j = {a, row};
    size_t grain = a->D >= CK512_ELEM_GRAIN ? 1 : CK512_ELEM_GRAIN / a->D;
    ck512_parallel(ctx, a->T, grain, ck512_embed_range, &j);
    return CK_OK;
}

#endif /* CK_EMBEDDING_AVX512_H */
