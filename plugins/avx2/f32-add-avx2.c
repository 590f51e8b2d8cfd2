/* add (exact class): y = a + b, one correctly rounded add per element, so
 * any split and any vector width give the reference's bits. y may alias a. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

static void add_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_add_args *a = arg;
    (void)tid;
    size_t i = begin;
    for (; i + 16 <= end; i += 16) {
        __m256 s0 = _mm256_add_ps(_mm256_loadu_ps(a->a + i), _mm256_loadu_ps(a->b + i));
        __m256 s1 = _mm256_add_ps(_mm256_loadu_ps(a->a + i + 8), _mm256_loadu_ps(a->b + i + 8));
        _mm256_storeu_ps(a->y + i, s0);
        _mm256_storeu_ps(a->y + i + 8, s1);
    }
    for (; i < end; i += 8) {
        __m256i m = avx2_tail_mask(end - i < 8 ? end - i : 8);
        __m256 s = _mm256_add_ps(_mm256_maskload_ps(a->a + i, m), _mm256_maskload_ps(a->b + i, m));
        _mm256_maskstore_ps(a->y + i, m, s);
    }
}

int ck_avx2_f32_add(const ck_exec_ctx *ctx, const void *args)
{
    const ck_add_args *a = args;
    if (!a)
        return CK_E_UNSUPPORTED;
    if (a->n > 0 && (!a->a || !a->b || !a->y))
        return CK_E_UNSUPPORTED;
    ck_add_args job = *a; /* a mutable copy for the void * of parallel_for */
    avx2_parallel(ctx, a->n, AVX2_ELEM_GRAIN, add_range, &job);
    return CK_OK;
}
