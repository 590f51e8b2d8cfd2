/* The embedding lookup shared by every table dtype: ids are validated first
 * (nothing is written for a bad id), then rows are copied / widened. */
#include "scalar.h"

typedef struct embed_job {
    const ck_embedding_args *a;
    scalar_row_to_f32_fn row_to_f32;
} embed_job;

static void embed_rows(void *arg, size_t begin, size_t end, int tid)
{
    const embed_job *j = arg;
    (void)tid;
    for (size_t t = begin; t < end; t++)
        j->row_to_f32(j->a->table, (size_t)j->a->ids[t], j->a->D, j->a->y + t * j->a->D);
}

int scalar_embedding(const ck_exec_ctx *ctx, const ck_embedding_args *a, uint32_t dtype,
                     scalar_row_to_f32_fn row_to_f32)
{
    if (a->dtype != dtype)
        return CK_E_UNSUPPORTED;
    if (a->T == 0)
        return CK_OK;
    for (size_t t = 0; t < a->T; t++)
        if (a->ids[t] < 0 || (uint64_t)a->ids[t] >= (uint64_t)a->vocab)
            return CK_E_UNSUPPORTED;
    if (a->D == 0)
        return CK_OK;
    embed_job j = {a, row_to_f32};
    scalar_parallel(ctx, a->T, 16, embed_rows, &j);
    return CK_OK;
}
