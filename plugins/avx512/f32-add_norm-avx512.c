/* f32-add_norm/avx512: the residual add, then the norm, one row at a time:
 * the row of add.y (always written: it is the residual stream) is normalised
 * into norm.y while it is still in L1, so memory sees a, b read and the two
 * outputs written once, instead of add.y being read back by a second kernel.
 * The add is exact; the norm uses the sums of the unfused avx512 norms. */
#include "avx512-kernels.h"
#include "fused-avx512.h"

static void add_row(const float *a, const float *b, float *y, size_t D)
{
    size_t i = 0;
    for (; i + 16 <= D; i += 16)
        _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
    if (i < D)
        ck512_store_tail(y + i, _mm512_add_ps(ck512_load_tail(a + i, D - i), ck512_load_tail(b + i, D - i)), D - i);
}

static void add_norm_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ck_fused_add_norm_args *f = arg;
    const size_t D = f->norm.D;
    (void)tid;
    for (size_t t = begin; t < end; t++) {
        float *y = f->add.y + t * D;
        add_row(f->add.a + t * D, f->add.b + t * D, y, D);
        ck512_norm_row(f->norm_kind, &f->norm, y, f->norm.y + t * D);
    }
}

int ck_avx512_f32_add_norm(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_add_norm_args *f = args;
    if (!f || (f->norm_kind != CK_NORM_RMS && f->norm_kind != CK_NORM_LAYER))
        return CK_E_UNSUPPORTED;
    const ck_add_args *a = &f->add;
    const ck_norm_args *n = &f->norm;
    int fits = a->a && a->b && a->y && n->x == a->y && n->y && n->gamma && a->n == n->T * n->D;
    if (!fits) {
        int rc = ck_avx512_f32_add(ctx, a);
        return rc != CK_OK ? rc : ck512_norm_kernel(ctx, f->norm_kind, n);
    }
    if (n->T == 0 || n->D == 0)
        return CK_OK;
    size_t grain = n->D >= CK512_ELEM_GRAIN ? 1 : CK512_ELEM_GRAIN / n->D;
    ck512_parallel(ctx, n->T, grain, add_norm_rows, (void *)f);
    return CK_OK;
}
