/* swiglu: y = gate / (1 + exp(-gate)) * up, with the shared vector exp
 * (about 1 ULP). Elementwise: each lane is computed the same way in the
 * body and the masked tail, so the split does not change any result.
 * y may alias gate. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

static inline __m256 swiglu8(__m256 g, __m256 u)
{
    __m256 e = avx2_exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), g));
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

static void swiglu_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_swiglu_args *a = arg;
    (void)tid;
    size_t i = begin;
    for (; i + 8 <= end; i += 8)
        _mm256_storeu_ps(a->y + i, swiglu8(_mm256_loadu_ps(a->gate + i), _mm256_loadu_ps(a->up + i)));
    if (i < end) {
        __m256i m = avx2_tail_mask(end - i);
        __m256 y = swiglu8(_mm256_maskload_ps(a->gate + i, m), _mm256_maskload_ps(a->up + i, m));
        _mm256_maskstore_ps(a->y + i, m, y);
    }
}

int ck_avx2_f32_swiglu(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_args *a = args;
    if (!a)
        return CK_E_UNSUPPORTED;
    if (a->n > 0 && (!a->gate || !a->up || !a->y))
        return CK_E_UNSUPPORTED;
    ck_swiglu_args job = *a; /* a mutable copy for the void * of parallel_for */
    avx2_parallel(ctx, a->n, AVX2_ELEM_GRAIN, swiglu_range, &job);
    return CK_OK;
}
