/* geglu: y = gelu(gate) * up, gelu's tanh form through the shared
 * avx2_gelu_ps (x / (1 + exp(-2u)), no cancellation for negative gate),
 * then one correctly rounded multiply. Elementwise: each lane is computed
 * the same way in the body and the masked tail. y may alias gate; a large,
 * not in-place y is written with streaming stores. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

static inline __m256 geglu8(__m256 g, __m256 u)
{
    return _mm256_mul_ps(avx2_gelu_ps(g), u);
}

typedef struct geglu_job {
    ck_swiglu_args a;
    int stream; /* non-temporal stores for y */
} geglu_job;

static inline void geglu_masked(const ck_swiglu_args *a, size_t i, size_t n)
{
    __m256i m = avx2_tail_mask(n);
    _mm256_maskstore_ps(a->y + i, m, geglu8(_mm256_maskload_ps(a->gate + i, m), _mm256_maskload_ps(a->up + i, m)));
}

static void geglu_range(void *arg, size_t begin, size_t end, int tid)
{
    const geglu_job *j = arg;
    const ck_swiglu_args *a = &j->a;
    (void)tid;
    size_t i = begin;
    if (j->stream) { /* up to an aligned y: streaming stores need it */
        size_t k = avx2_peel(a->y + i, end - i);
        if (k)
            geglu_masked(a, i, k);
        i += k;
    }
    for (; i + 8 <= end; i += 8)
        avx2_store8(a->y + i, geglu8(_mm256_loadu_ps(a->gate + i), _mm256_loadu_ps(a->up + i)), j->stream);
    if (i < end)
        geglu_masked(a, i, end - i);
    if (j->stream)
        _mm_sfence();
}

int ck_avx2_f32_geglu(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_args *a = args;
    if (!a)
        return CK_E_UNSUPPORTED;
    if (a->n > 0 && (!a->gate || !a->up || !a->y))
        return CK_E_UNSUPPORTED;
    geglu_job job = {*a, avx2_should_stream(a->n * sizeof(float), a->y, a->gate) && a->y != a->up};
    avx2_parallel(ctx, a->n, AVX2_ELEM_GRAIN, geglu_range, &job);
    return CK_OK;
}
