/* f32-embed_norm/avx512 (and the body bf16-embed_norm shares): the
 * embedding, then the norm, one row at a time: the row copied (bf16 widened
 * exactly) into embed.y (always written: the residual stream) is normalised
 * into norm.y while still in L1, instead of a second kernel reading embed.y
 * back. Ids are checked before anything is written. */
#include "avx512-kernels.h"
#include "fused-avx512.h"

static void copy_row(const void *table, uint32_t dtype, size_t row, size_t D, float *dst)
{
    size_t i = 0;
    if (dtype == CK_DTYPE_BF16) {
        const uint16_t *src = (const uint16_t *)table + row * D;
        for (; i + 16 <= D; i += 16)
            _mm512_storeu_ps(dst + i, ck512_load_bf16(src + i));
        if (i < D)
            ck512_store_tail(dst + i, ck512_load_bf16_tail(src + i, D - i), D - i);
        return;
    }
    const float *src = (const float *)table + row * D;
    for (; i + 16 <= D; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
    if (i < D)
        ck512_store_tail(dst + i, ck512_load_tail(src + i, D - i), D - i);
}

static void embed_norm_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ck_fused_embed_norm_args *f = arg;
    const size_t D = f->norm.D;
    (void)tid;
    for (size_t t = begin; t < end; t++) {
        float *y = f->embed.y + t * D;
        copy_row(f->embed.table, f->embed.dtype, (size_t)f->embed.ids[t], D, y);
        ck512_norm_row(f->norm_kind, &f->norm, y, f->norm.y + t * D);
    }
}

int ck512_embed_norm(const ck_exec_ctx *ctx, const void *args, uint32_t dtype)
{
    const ck_fused_embed_norm_args *f = args;
    if (!f || f->embed.dtype != dtype || (f->norm_kind != CK_NORM_RMS && f->norm_kind != CK_NORM_LAYER))
        return CK_E_UNSUPPORTED;
    const ck_embedding_args *e = &f->embed;
    const ck_norm_args *n = &f->norm;
    if (e->T == 0 || e->D == 0)
        return CK_OK;
    if (!e->ids || !e->table || !e->y || n->x != e->y || !n->y || !n->gamma || n->T != e->T || n->D != e->D)
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < e->T; t++)
        if (e->ids[t] < 0 || (size_t)e->ids[t] >= e->vocab)
            return CK_E_UNSUPPORTED;
    size_t grain = e->D >= CK512_ELEM_GRAIN ? 1 : CK512_ELEM_GRAIN / e->D;
    ck512_parallel(ctx, e->T, grain, embed_norm_rows, (void *)f);
    return CK_OK;
}

int ck_avx512_f32_embed_norm(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_embed_norm(ctx, args, CK_DTYPE_F32);
}
