/* f32-quick_gelu/avx2, CLIP's activation
 *   y = x sigmoid(1.702 x) = x / (1 + exp(-1.702 x))
 * in the quotient form (no cancellation for either sign), with the
 * logistic exp of avx2-helpers.h: +inf beyond exp's range gives y = -0 for
 * x << 0, y = x for x >> 0. Same lane arithmetic in the body and the masked
 * tail. y may alias x; a large, not in-place y is written with streaming
 * stores. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

typedef struct quick_gelu_job {
    ck_unary_args a;
    int stream; /* non-temporal stores for y */
} quick_gelu_job;

static inline __m256 quick_gelu8(__m256 x)
{
    __m256 e = avx2_exp_logistic_ps(_mm256_mul_ps(_mm256_set1_ps(-1.702f), x));
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

static inline void quick_gelu_masked(const ck_unary_args *a, size_t i, size_t n)
{
    __m256i m = avx2_tail_mask(n);
    _mm256_maskstore_ps(a->y + i, m, quick_gelu8(_mm256_maskload_ps(a->x + i, m)));
}

static void quick_gelu_range(void *arg, size_t begin, size_t end, int tid)
{
    const quick_gelu_job *j = arg;
    const ck_unary_args *a = &j->a;
    (void)tid;
    size_t i = begin;
    if (j->stream) { /* up to an aligned y: streaming stores need it */
        size_t k = avx2_peel(a->y + i, end - i);
        if (k)
            quick_gelu_masked(a, i, k);
        i += k;
    }
    for (; i + 8 <= end; i += 8)
        avx2_store8(a->y + i, quick_gelu8(_mm256_loadu_ps(a->x + i)), j->stream);
    if (i < end)
        quick_gelu_masked(a, i, end - i);
    if (j->stream)
        _mm_sfence();
}

int ck_avx2_f32_quick_gelu(const ck_exec_ctx *ctx, const void *args)
{
    const ck_unary_args *a = args;
    quick_gelu_job job = {*a, avx2_should_stream(a->n * sizeof(float), a->y, a->x)};
    avx2_parallel(ctx, a->n, AVX2_ELEM_GRAIN, quick_gelu_range, &job);
    return CK_OK;
}
