/* layernorm: y = (x - mean) / sqrt(var + eps) * gamma + beta per row, with
 * the population variance taken around the mean in a second pass (no
 * E[x^2] - mean^2 cancellation). The row is read from memory once; the
 * variance and output passes hit cache. beta may be NULL (0). Rows split
 * over the threads; y may alias x; a large, not in-place y is written with
 * streaming stores. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

static float row_sum(const float *x, size_t D)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= D; i += 16) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
    }
    for (; i < D; i += 8)
        s0 = _mm256_add_ps(s0, _mm256_maskload_ps(x + i, avx2_tail_mask(D - i < 8 ? D - i : 8)));
    return avx2_hsum_ps(_mm256_add_ps(s0, s1));
}

/* Sum of (x - mean)^2; masked-off tail lanes are forced to 0, not -mean. */
static float row_sum_sq_dev(const float *x, size_t D, float mean)
{
    __m256 vm = _mm256_set1_ps(mean);
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= D; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm);
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        s1 = _mm256_fmadd_ps(d1, d1, s1);
    }
    for (; i < D; i += 8) {
        __m256i m = avx2_tail_mask(D - i < 8 ? D - i : 8);
        __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), vm), _mm256_castsi256_ps(m));
        s0 = _mm256_fmadd_ps(d, d, s0);
    }
    return avx2_hsum_ps(_mm256_add_ps(s0, s1));
}

static inline __m256 norm8(__m256 x, __m256 mean, __m256 rstd, __m256 g, __m256 b)
{
    return _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(_mm256_sub_ps(x, mean), rstd), g), b);
}

typedef struct layernorm_job {
    ck_norm_args a;
    int stream; /* non-temporal stores for y */
} layernorm_job;

/* y[i..i+n) for n <= 8, masked. */
static inline void norm_masked(const ck_norm_args *a, const float *x, float *y, __m256 vm, __m256 vr, size_t i,
                               size_t n)
{
    __m256i m = avx2_tail_mask(n);
    __m256 b = a->beta ? _mm256_maskload_ps(a->beta + i, m) : _mm256_setzero_ps();
    __m256 v = norm8(_mm256_maskload_ps(x + i, m), vm, vr, _mm256_maskload_ps(a->gamma + i, m), b);
    _mm256_maskstore_ps(y + i, m, v);
}

static void norm_row(const ck_norm_args *a, const float *x, float *y, float mean, float rstd, int stream)
{
    size_t D = a->D;
    __m256 vm = _mm256_set1_ps(mean), vr = _mm256_set1_ps(rstd);
    size_t i = stream ? avx2_peel(y, D) : 0; /* streaming stores need an aligned y */
    if (i)
        norm_masked(a, x, y, vm, vr, 0, i);
    for (; i + 8 <= D; i += 8) {
        __m256 b = a->beta ? _mm256_loadu_ps(a->beta + i) : _mm256_setzero_ps();
        avx2_store8(y + i, norm8(_mm256_loadu_ps(x + i), vm, vr, _mm256_loadu_ps(a->gamma + i), b), stream);
    }
    if (i < D)
        norm_masked(a, x, y, vm, vr, i, D - i);
}

static void layernorm_rows(void *arg, size_t begin, size_t end, int tid)
{
    const layernorm_job *j = arg;
    const ck_norm_args *a = &j->a;
    (void)tid;
    size_t D = a->D;
    for (size_t t = begin; t < end; t++) {
        const float *x = a->x + t * D;
        float mean = row_sum(x, D) / (float)D;
        float var = row_sum_sq_dev(x, D, mean) / (float)D;
        norm_row(a, x, a->y + t * D, mean, 1.0f / sqrtf(var + a->eps), j->stream);
    }
    if (j->stream)
        _mm_sfence();
}

int ck_avx2_f32_layernorm(const ck_exec_ctx *ctx, const void *args)
{
    const ck_norm_args *a = args;
    if (a->T == 0 || a->D == 0)
        return CK_OK;
    layernorm_job job = {*a, avx2_should_stream(a->T * a->D * sizeof(float), a->y, a->x)};
    size_t grain = a->D >= 16384 ? 1 : 16384 / a->D;
    avx2_parallel(ctx, a->T, grain, layernorm_rows, &job);
    return CK_OK;
}
