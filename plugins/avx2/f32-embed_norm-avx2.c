/* f32-embed_norm/avx2 (and the body bf16-embed_norm shares): the embedding,
 * then the norm, one row at a time: the row copied (bf16 widened exactly)
 * into embed.y (always written: the residual stream) is normalised into
 * norm.y while still in L1, instead of a second kernel reading embed.y back.
 * Ids are checked before anything is written. */
#include "avx2-kernels.h"
#include "fused-avx2.h"

typedef struct embed_norm_job {
    const ck_fused_embed_norm_args *f;
    int stream; /* non-temporal stores for norm.y */
} embed_norm_job;

static void copy_row(const ck_embedding_args *e, size_t row, float *dst)
{
    size_t D = e->D, first = row * D, i = 0;
    if (e->dtype == CK_DTYPE_F32) {
        memcpy(dst, (const float *)e->table + first, D * sizeof(float));
        return;
    }
    for (; i + 8 <= D; i += 8)
        _mm256_storeu_ps(dst + i, avx2_load_w8(e->table, e->dtype, first + i));
    if (i < D)
        _mm256_maskstore_ps(dst + i, avx2_tail_mask(D - i), avx2_load_w_tail(e->table, e->dtype, first + i, D - i));
}

static void embed_norm_rows(void *arg, size_t begin, size_t end, int tid)
{
    const embed_norm_job *j = arg;
    const ck_fused_embed_norm_args *f = j->f;
    const size_t D = f->norm.D;
    (void)tid;
    for (size_t t = begin; t < end; t++) {
        float *y = f->embed.y + t * D;
        copy_row(&f->embed, (size_t)f->embed.ids[t], y);
        avx2_fused_norm_from(f->norm_kind, &f->norm, y, NULL, NULL, f->norm.y + t * D, j->stream, 0);
    }
    if (j->stream)
        _mm_sfence();
}

int avx2_embed_norm(const ck_exec_ctx *ctx, const void *args, uint32_t dtype)
{
    const ck_fused_embed_norm_args *f = args;
    if (f->embed.dtype != dtype || !avx2_weight_dtype_ok(dtype))
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
    embed_norm_job job = {f, avx2_fused_stream_rows(n->T, n->D, n->y, n->y)};
    avx2_parallel(ctx, e->T, 16, embed_norm_rows, &job);
    return CK_OK;
}

int ck_avx2_f32_embed_norm(const ck_exec_ctx *ctx, const void *args)
{
    return avx2_embed_norm(ctx, args, CK_DTYPE_F32);
}
