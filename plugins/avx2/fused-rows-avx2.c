/* Row norms of the avx2 fused kernels (fused-avx2.h): the sums and the
 * operation order of f32-rmsnorm-avx2.c and f32-layernorm-avx2.c. */
#include "avx2-kernels.h"
#include "fused-avx2.h"

static __m256i tail8(size_t n)
{
    return avx2_tail_mask(n < 8 ? n : 8);
}

static float row_sum_squares(const float *x, size_t D)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
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
        __m256 a = _mm256_maskload_ps(x + i, tail8(D - i));
        s0 = _mm256_fmadd_ps(a, a, s0);
    }
    return avx2_hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static float row_sum(const float *x, size_t D)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    size_t i = 0;
    for (; i + 16 <= D; i += 16) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
    }
    for (; i < D; i += 8)
        s0 = _mm256_add_ps(s0, _mm256_maskload_ps(x + i, tail8(D - i)));
    return avx2_hsum_ps(_mm256_add_ps(s0, s1));
}

/* Sum of (x - mean)^2; masked-off tail lanes are forced to 0, not -mean. */
static float row_sum_sq_dev(const float *x, size_t D, float mean)
{
    __m256 vm = _mm256_set1_ps(mean), s0 = _mm256_setzero_ps(), s1 = s0;
    size_t i = 0;
    for (; i + 16 <= D; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm);
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        s1 = _mm256_fmadd_ps(d1, d1, s1);
    }
    for (; i < D; i += 8) {
        __m256i m = tail8(D - i);
        __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), vm), _mm256_castsi256_ps(m));
        s0 = _mm256_fmadd_ps(d, d, s0);
    }
    return avx2_hsum_ps(_mm256_add_ps(s0, s1));
}

/* rms: x * r * gamma; layer: (x - mean) * r * gamma + beta (beta NULL = 0). */
static inline __m256 norm8(uint32_t kind, __m256 x, __m256 mean, __m256 r, __m256 g, __m256 b)
{
    if (kind == CK_NORM_RMS)
        return _mm256_mul_ps(_mm256_mul_ps(x, r), g);
    return _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(_mm256_sub_ps(x, mean), r), g), b);
}

static inline void norm_masked(uint32_t kind, const ck_norm_args *a, const float *x, float *y, __m256 vm,
                               __m256 vr, size_t i, size_t n)
{
    __m256i m = avx2_tail_mask(n);
    __m256 b = a->beta ? _mm256_maskload_ps(a->beta + i, m) : _mm256_setzero_ps();
    _mm256_maskstore_ps(y + i, m, norm8(kind, _mm256_maskload_ps(x + i, m), vm, vr, _mm256_maskload_ps(a->gamma + i, m), b));
}

void avx2_fused_norm_row(uint32_t kind, const ck_norm_args *a, const float *x, float *y, int stream)
{
    const size_t D = a->D;
    float mean = 0.0f, r;
    if (kind == CK_NORM_RMS) {
        r = 1.0f / sqrtf(row_sum_squares(x, D) / (float)D + a->eps);
    } else {
        mean = row_sum(x, D) / (float)D;
        r = 1.0f / sqrtf(row_sum_sq_dev(x, D, mean) / (float)D + a->eps);
    }
    __m256 vm = _mm256_set1_ps(mean), vr = _mm256_set1_ps(r);
    size_t i = stream ? avx2_peel(y, D) : 0; /* streaming stores need an aligned y */
    if (i)
        norm_masked(kind, a, x, y, vm, vr, 0, i);
    for (; i + 8 <= D; i += 8) {
        __m256 b = a->beta && kind == CK_NORM_LAYER ? _mm256_loadu_ps(a->beta + i) : _mm256_setzero_ps();
        avx2_store8(y + i, norm8(kind, _mm256_loadu_ps(x + i), vm, vr, _mm256_loadu_ps(a->gamma + i), b), stream);
    }
    if (i < D)
        norm_masked(kind, a, x, y, vm, vr, i, D - i);
}

int avx2_fused_norm_kernel(const ck_exec_ctx *ctx, uint32_t kind, const ck_norm_args *a)
{
    if (kind == CK_NORM_RMS)
        return ck_avx2_f32_rmsnorm(ctx, a);
    if (kind == CK_NORM_LAYER)
        return ck_avx2_f32_layernorm(ctx, a);
    return CK_E_UNSUPPORTED;
}
