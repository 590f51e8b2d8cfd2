/* f32-embedding_bwd/avx2 (exact class): dtable[ids[t]] += dy[t] for t in
 * order, one f32 add per element. The threads split the columns, not the
 * rows: each element's adds then happen in t order on one thread, however
 * many rows share an id, and no two threads touch the same element. Every
 * id is checked before anything is written. */
#include "bwd-avx2.h"

#define COLS 64

static void scatter_add_columns(void *arg, size_t begin, size_t end, int tid)
{
    const ck_embedding_bwd_args *a = arg;
    size_t c0 = begin * COLS, c1 = end * COLS < a->D ? end * COLS : a->D;
    (void)tid;
    for (size_t t = 0; t < a->T; t++) {
        float *row = a->dtable + (size_t)a->ids[t] * a->D;
        const float *g = a->dy + t * a->D;
        for (size_t i = c0; i < c1; i += BV_W) {
            size_t n = c1 - i;
            bv_store_n(row + i, bv_add(bv_load_n(row + i, n), bv_load_n(g + i, n)), n);
        }
    }
}

int BV_KERNEL(embedding_bwd)(const ck_exec_ctx *ctx, const void *args)
{
    const ck_embedding_bwd_args *a = args;
    if (!a || !a->ids || !a->dy || !a->dtable)
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++)
        if (a->ids[t] < 0 || (size_t)a->ids[t] >= a->vocab)
            return CK_E_UNSUPPORTED;
    ck_exec_ctx one;
    ctx = bv_ctx_for(ctx, &one, (double)a->T * (double)a->D);
    bv_parallel(ctx, (a->D + COLS - 1) / COLS, 1, scatter_add_columns, (void *)a);
    return CK_OK;
}
