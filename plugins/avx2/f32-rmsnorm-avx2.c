/* rmsnorm: y = x * (1/sqrt(mean(x^2) + eps)) * gamma per row. One read of
 * the row for the sum of squares (four vector accumulators, masked tail),
 * a second, from cache, to scale it. Rows split over the threads; a row's
 * result does not depend on the split. y may alias x; a large, not
 * in-place y is written with streaming stores. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

static float row_sum_squares(const float *x, size_t D)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= D; i += 32) {
        __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
        __m256 c = _mm256_loadu_ps(x + i + 16), d = _mm256_loadu_ps(x + i + 24);
        s0 = _mm256_fmadd_ps(a, a, s0);
        s1 = _mm256_fmadd_ps(b, b, s1);
        s2 = _mm256_fmadd_ps(c, c, s2);
        s3 = _mm256_fmadd_ps(d, d, s3);
    }
    for (; i < D; i += 8) {
        __m256 a = _mm256_maskload_ps(x + i, avx2_tail_mask(D - i < 8 ? D - i : 8));
        s0 = _mm256_fmadd_ps(a, a, s0);
    }
    return avx2_hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

typedef struct rmsnorm_job {
    ck_norm_args a;
    int stream; /* non-temporal stores for y */
} rmsnorm_job;

/* y[i..i+n) = x * scale * gamma for n <= 8, masked. */
static inline void scale_masked(const float *x, float *y, const float *gamma, __m256 vs, size_t i, size_t n)
{
    __m256i m = avx2_tail_mask(n);
    __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_maskload_ps(x + i, m), vs), _mm256_maskload_ps(gamma + i, m));
    _mm256_maskstore_ps(y + i, m, v);
}

static void scale_row(const float *x, float *y, const float *gamma, size_t D, float scale, int stream)
{
    __m256 vs = _mm256_set1_ps(scale);
    size_t i = stream ? avx2_peel(y, D) : 0; /* streaming stores need an aligned y */
    if (i)
        scale_masked(x, y, gamma, vs, 0, i);
    for (; i + 8 <= D; i += 8)
        avx2_store8(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vs), _mm256_loadu_ps(gamma + i)),
                    stream);
    if (i < D)
        scale_masked(x, y, gamma, vs, i, D - i);
}

static void rmsnorm_rows(void *arg, size_t begin, size_t end, int tid)
{
    const rmsnorm_job *j = arg;
    const ck_norm_args *a = &j->a;
    (void)tid;
    size_t D = a->D;
    for (size_t t = begin; t < end; t++) {
        const float *x = a->x + t * D;
        float scale = 1.0f / sqrtf(row_sum_squares(x, D) / (float)D + a->eps);
        scale_row(x, a->y + t * D, a->gamma, D, scale, j->stream);
    }
    if (j->stream)
        _mm_sfence();
}

int ck_avx2_f32_rmsnorm(const ck_exec_ctx *ctx, const void *args)
{
    const ck_norm_args *a = args;
    if (a->T == 0 || a->D == 0)
        return CK_OK;
    rmsnorm_job job = {*a, avx2_should_stream(a->T * a->D * sizeof(float), a->y, a->x)};
    /* at least ~64 KiB of row data per chunk */
    size_t grain = a->D >= 16384 ? 1 : 16384 / a->D;
    avx2_parallel(ctx, a->T, grain, rmsnorm_rows, &job);
    return CK_OK;
}
