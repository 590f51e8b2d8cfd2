/* The loop around the embedding row copies (f32, bf16, f16 tables): every
 * id is checked before anything is written, then rows are split between
 * threads and each is converted by the dtype's row function (exact). */
#include "neon-common.h"

typedef struct embedding_job {
    const ck_embedding_args *a;
    size_t row_bytes;
    ck_neon_row_fn row_fn;
} embedding_job;

static void embedding_rows(void *arg, size_t begin, size_t end, int tid)
{
    const embedding_job *j = arg;
    const ck_embedding_args *a = j->a;
    (void)tid;
    for (size_t t = begin; t < end; t++)
        j->row_fn((const char *)a->table + (size_t)a->ids[t] * j->row_bytes, a->y + t * a->D, a->D);
}

int ck_neon_embedding_drive(const ck_exec_ctx *ctx, const ck_embedding_args *a, uint32_t dtype, ck_neon_row_fn row_fn)
{
    if (a->dtype != dtype)
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++)
        if (a->ids[t] < 0 || (size_t)a->ids[t] >= a->vocab)
            return CK_E_UNSUPPORTED;
    embedding_job job = {a, ck_dtype_row_bytes(dtype, a->D), row_fn};
    ctx->parallel_for(ctx, a->T, 1, embedding_rows, &job);
    return CK_OK;
}
