/* f32-gelu_erf/avx2, the exact gelu y = x Phi(x), through the one
 * approximation of plugins/shared/gelu_erf-poly.h:
 *   P = Phi(-|x|) = exp(-x^2 / 2) s Q(s),  s = 4 / (4 + |x|)
 *   y = x P (x < 0),  x (1 - P) (x >= 0),  both as max(x, 0) - |x| P
 * |x| clamped to 16 (P < FLT_MIN from 13.2 on; x^2 must not overflow), x^2
 * split into hi + lo with an FMA so that exp's argument is exact to second
 * order (f32-gelu_erf-avx512.c says why). exp gives 0 below FLT_MIN here,
 * which the error model allows. Same lane arithmetic in the body and the
 * masked tail. y may alias x; a large, not in-place y is written with
 * streaming stores. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"
#include "gelu_erf-poly.h"

typedef struct gelu_erf_job {
    ck_unary_args a;
    int stream; /* non-temporal stores for y */
} gelu_erf_job;

static inline __m256 gelu_erf8(__m256 x)
{
    const __m256 k = _mm256_set1_ps(CK_GERF_K);
    /* min returns its second operand for a NaN x: 16; max(0, x) below keeps the NaN */
    __m256 a = _mm256_min_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), _mm256_set1_ps(16.0f));
    __m256 hi = _mm256_mul_ps(a, a), lo = _mm256_fmsub_ps(a, a, hi);
    __m256 e = avx2_exp_ps(_mm256_mul_ps(_mm256_set1_ps(-0.5f), hi));
    e = _mm256_fnmadd_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), lo), e, e); /* exp(-lo / 2) ~ 1 - lo / 2 */
    __m256 s = _mm256_div_ps(k, _mm256_add_ps(k, a));
    __m256 q = _mm256_set1_ps(CK_GERF_Q9);
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q8));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q7));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q6));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q5));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q4));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q3));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q2));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q1));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(CK_GERF_Q0));
    __m256 p = _mm256_mul_ps(_mm256_mul_ps(q, s), e);
    /* max(0, x) returns x when both are zero (-0 stays -0) or x is NaN */
    return _mm256_fnmadd_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), p, _mm256_max_ps(_mm256_setzero_ps(), x));
}

static inline void gelu_erf_masked(const ck_unary_args *a, size_t i, size_t n)
{
    __m256i m = avx2_tail_mask(n);
    _mm256_maskstore_ps(a->y + i, m, gelu_erf8(_mm256_maskload_ps(a->x + i, m)));
}

static void gelu_erf_range(void *arg, size_t begin, size_t end, int tid)
{
    const gelu_erf_job *j = arg;
    const ck_unary_args *a = &j->a;
    (void)tid;
    size_t i = begin;
    if (j->stream) { /* up to an aligned y: streaming stores need it */
        size_t k = avx2_peel(a->y + i, end - i);
        if (k)
            gelu_erf_masked(a, i, k);
        i += k;
    }
    for (; i + 8 <= end; i += 8)
        avx2_store8(a->y + i, gelu_erf8(_mm256_loadu_ps(a->x + i)), j->stream);
    if (i < end)
        gelu_erf_masked(a, i, end - i);
    if (j->stream)
        _mm_sfence();
}

int ck_avx2_f32_gelu_erf(const ck_exec_ctx *ctx, const void *args)
{
    const ck_unary_args *a = args;
    gelu_erf_job job = {*a, avx2_should_stream(a->n * sizeof(float), a->y, a->x)};
    avx2_parallel(ctx, a->n, AVX2_ELEM_GRAIN, gelu_erf_range, &job);
    return CK_OK;
}
