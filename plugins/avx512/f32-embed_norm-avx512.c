/* f32-embed_norm/avx512 (and the body bf16-embed_norm shares): the
 * embedding, then the norm, one row at a time: the table row is copied
 * (bf16 widened exactly) into embed.y (always written: the residual stream)
 * and summed, then normalised into norm.y from the table row again (in L1),
 * so embed.y is never read back and large outputs are streamed. Ids are
 * checked before anything is written. */
#include "avx512-kernels.h"
#include "fused-avx512.h"

typedef struct embed_norm_job {
    const ck_fused_embed_norm_args *f;
    int stream;
} embed_norm_job;

static void embed_norm_rows(void *arg, size_t begin, size_t end, int tid)
{
    const embed_norm_job *j = arg;
    const ck_fused_embed_norm_args *f = j->f;
    const size_t D = f->norm.D;
    (void)tid;
    for (size_t t = begin; t < end; t++) {
        size_t first = (size_t)f->embed.ids[t] * D;
        ck512_row_src row = {NULL, NULL, NULL};
        if (f->embed.dtype == CK_DTYPE_BF16)
            row.h = (const uint16_t *)f->embed.table + first;
        else
            row.a = (const float *)f->embed.table + first;
        ck512_norm_from(f->norm_kind, &f->norm, &row, &row, f->embed.y + t * D, f->norm.y + t * D, j->stream);
    }
    if (j->stream)
        _mm_sfence();
}

int ck512_embed_norm(const ck_exec_ctx *ctx, const void *args, uint32_t dtype)
{
    const ck_fused_embed_norm_args *f = args;
    if (f->embed.dtype != dtype)
        return CK_E_UNSUPPORTED;
    const ck_embedding_args *e = &f->embed;
    const ck_norm_args *n = &f->norm;
    if (e->T == 0 || e->D == 0)
        return CK_OK;
    if (n->x != e->y || n->T != e->T || n->D != e->D) /* the fusion's link: the norm reads what the lookup wrote */
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < e->T; t++)
        if (e->ids[t] < 0 || (size_t)e->ids[t] >= e->vocab)
            return CK_E_UNSUPPORTED;
    embed_norm_job job = {f, ck512_stream_rows(e->T, e->D, e->y, n->y)};
    size_t grain = e->D >= CK512_ELEM_GRAIN ? 1 : CK512_ELEM_GRAIN / e->D;
    ck512_parallel(ctx, e->T, grain, embed_norm_rows, &job);
    return CK_OK;
}

int ck_avx512_f32_embed_norm(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_embed_norm(ctx, args, CK_DTYPE_F32);
}
