/* add (exact class): y = a + b, one correctly rounded add per element, so
 * any split and any vector width give the reference's bits. y may alias a.
 * A large, not in-place y is written with streaming stores. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

typedef struct add_job {
    ck_add_args a;
    int stream; /* non-temporal stores for y */
} add_job;

static inline void add_masked(const ck_add_args *a, size_t i, size_t n)
{
    __m256i m = avx2_tail_mask(n);
    _mm256_maskstore_ps(a->y + i, m, _mm256_add_ps(_mm256_maskload_ps(a->a + i, m), _mm256_maskload_ps(a->b + i, m)));
}

static void add_range(void *arg, size_t begin, size_t end, int tid)
{
    const add_job *j = arg;
    const ck_add_args *a = &j->a;
    (void)tid;
    size_t i = begin;
    if (j->stream) { /* up to an aligned y: streaming stores need it */
        size_t k = avx2_peel(a->y + i, end - i);
        if (k)
            add_masked(a, i, k);
        i += k;
    }
    for (; i + 16 <= end; i += 16) {
        __m256 s0 = _mm256_add_ps(_mm256_loadu_ps(a->a + i), _mm256_loadu_ps(a->b + i));
        __m256 s1 = _mm256_add_ps(_mm256_loadu_ps(a->a + i + 8), _mm256_loadu_ps(a->b + i + 8));
        avx2_store8(a->y + i, s0, j->stream);
        avx2_store8(a->y + i + 8, s1, j->stream);
    }
    for (; i < end; i += 8)
        add_masked(a, i, end - i < 8 ? end - i : 8);
    if (j->stream)
        _mm_sfence();
}

int ck_avx2_f32_add(const ck_exec_ctx *ctx, const void *args)
{
    const ck_add_args *a = args;
    add_job job = {*a, avx2_should_stream(a->n * sizeof(float), a->y, a->a) && a->y != a->b};
    avx2_parallel(ctx, a->n, AVX2_ELEM_GRAIN, add_range, &job);
    return CK_OK;
}
