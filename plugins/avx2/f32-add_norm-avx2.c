/* f32-add_norm/avx2: the residual add, then the norm, one row at a time.
 * The first pass stores add.y (always written: the residual stream) and sums
 * the row; the later passes recompute a + b from a and b, still in L1,
 * instead of reading add.y back, so memory sees a and b read and the two
 * outputs written once, both streamed when large (the unfused pair also
 * streams, but reads add.y back: 160 bytes per element against 128 here).
 * Outputs that stay in cache, or an in-place add, re-read add.y from L1.
 * The add is exact; the norm has the sums of the unfused avx2 norms. */
#include "avx2-kernels.h"
#include "fused-avx2.h"

typedef struct add_norm_job {
    const ck_fused_add_norm_args *f;
    int stream; /* non-temporal stores for norm.y */
} add_norm_job;

static void add_norm_rows(void *arg, size_t begin, size_t end, int tid)
{
    const add_norm_job *j = arg;
    const ck_fused_add_norm_args *f = j->f;
    const size_t D = f->norm.D;
    /* Streaming: recompute a + b (add.y is not in cache). Otherwise, or in
     * place, read add.y back from L1: one load instead of two. */
    const int reread = !j->stream || f->add.y == f->add.a || f->add.y == f->add.b;
    (void)tid;
    for (size_t t = begin; t < end; t++)
        avx2_fused_norm_from(f->norm_kind, &f->norm, f->add.a + t * D, f->add.b + t * D, f->add.y + t * D,
                             f->norm.y + t * D, j->stream, reread);
    if (j->stream)
        _mm_sfence();
}

int ck_avx2_f32_add_norm(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_add_norm_args *f = args;
    const ck_add_args *a = &f->add;
    const ck_norm_args *n = &f->norm;
    int fits = a->a && a->b && a->y && n->x == a->y && n->y && n->y != a->y && n->gamma && a->n == n->T * n->D;
    if (!fits) {
        int rc = ck_avx2_f32_add(ctx, a);
        return rc != CK_OK ? rc : avx2_fused_norm_kernel(ctx, f->norm_kind, n);
    }
    if (n->T == 0 || n->D == 0)
        return CK_OK;
    int in_place = a->y == a->a || a->y == a->b;
    add_norm_job job = {f, !in_place && avx2_fused_stream_rows(n->T, n->D, a->y, n->y)};
    size_t grain = n->D >= AVX2_ELEM_GRAIN ? 1 : AVX2_ELEM_GRAIN / n->D;
    avx2_parallel(ctx, n->T, grain, add_norm_rows, &job);
    return CK_OK;
}
