/* rmsnorm: y = x * (1/sqrt(mean(x^2) + eps)) * gamma per row. One read of
 * the row for the sum of squares (four vector accumulators, masked tail),
 * a second, from cache, to scale it. Rows split over the threads; a row's
 * result does not depend on the split. y may alias x. */
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

static void rmsnorm_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ck_norm_args *a = arg;
    (void)tid;
    size_t D = a->D;
    for (size_t t = begin; t < end; t++) {
        const float *x = a->x + t * D;
        float *y = a->y + t * D;
        float scale = 1.0f / sqrtf(row_sum_squares(x, D) / (float)D + a->eps);
        __m256 vs = _mm256_set1_ps(scale);
        size_t i = 0;
        for (; i + 8 <= D; i += 8) {
            __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vs), _mm256_loadu_ps(a->gamma + i));
            _mm256_storeu_ps(y + i, v);
        }
        if (i < D) {
            __m256i m = avx2_tail_mask(D - i);
            __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_maskload_ps(x + i, m), vs),
                                     _mm256_maskload_ps(a->gamma + i, m));
            _mm256_maskstore_ps(y + i, m, v);
        }
    }
}

int ck_avx2_f32_rmsnorm(const ck_exec_ctx *ctx, const void *args)
{
    const ck_norm_args *a = args;
    if (!a)
        return CK_E_UNSUPPORTED;
    if (a->T == 0 || a->D == 0)
        return CK_OK;
    if (!a->x || !a->y || !a->gamma)
        return CK_E_UNSUPPORTED;
    ck_norm_args job = *a;
    /* at least ~64 KiB of row data per chunk */
    size_t grain = a->D >= 16384 ? 1 : 16384 / a->D;
    avx2_parallel(ctx, a->T, grain, rmsnorm_rows, &job);
    return CK_OK;
}
