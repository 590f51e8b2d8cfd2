/* f32-add_norm/avx2: the residual add, then the norm, one row at a time:
 * the row of add.y (always written: the residual stream) is normalised into
 * norm.y while it is still in L1, so memory sees a and b read and the two
 * outputs written once, instead of a second kernel reading add.y back. The
 * add is exact; the norm has the sums of the unfused avx2 norms; a large
 * norm.y is written with streaming stores, as the unfused norm does. */
#include "avx2-kernels.h"
#include "fused-avx2.h"

typedef struct add_norm_job {
    const ck_fused_add_norm_args *f;
    int stream; /* non-temporal stores for norm.y */
} add_norm_job;

static void add_row(const float *a, const float *b, float *y, size_t D)
{
    size_t i = 0;
    for (; i + 8 <= D; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    if (i < D) {
        __m256i m = avx2_tail_mask(D - i);
        _mm256_maskstore_ps(y + i, m, _mm256_add_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m)));
    }
}

static void add_norm_rows(void *arg, size_t begin, size_t end, int tid)
{
    const add_norm_job *j = arg;
    const ck_fused_add_norm_args *f = j->f;
    const size_t D = f->norm.D;
    (void)tid;
    for (size_t t = begin; t < end; t++) {
        float *y = f->add.y + t * D;
        add_row(f->add.a + t * D, f->add.b + t * D, y, D);
        avx2_fused_norm_row(f->norm_kind, &f->norm, y, f->norm.y + t * D, j->stream);
    }
    if (j->stream)
        _mm_sfence();
}

int ck_avx2_f32_add_norm(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_add_norm_args *f = args;
    if (!f || (f->norm_kind != CK_NORM_RMS && f->norm_kind != CK_NORM_LAYER))
        return CK_E_UNSUPPORTED;
    const ck_add_args *a = &f->add;
    const ck_norm_args *n = &f->norm;
    int fits = a->a && a->b && a->y && n->x == a->y && n->y && n->gamma && a->n == n->T * n->D;
    if (!fits) {
        int rc = ck_avx2_f32_add(ctx, a);
        return rc != CK_OK ? rc : avx2_fused_norm_kernel(ctx, f->norm_kind, n);
    }
    if (n->T == 0 || n->D == 0)
        return CK_OK;
    add_norm_job job = {f, avx2_should_stream(n->T * n->D * sizeof(float), n->y, n->x)};
    size_t grain = n->D >= AVX2_ELEM_GRAIN ? 1 : AVX2_ELEM_GRAIN / n->D;
    avx2_parallel(ctx, n->T, grain, add_norm_rows, &job);
    return CK_OK;
}
