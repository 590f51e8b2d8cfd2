/* gelu, tanh form: y = 0.5*x*(1 + tanh(u)), u = 0.7978845608028654*(x + 0.044715*x^3),
 * computed through the identity 0.5*(1 + tanh(u)) = 1/(1 + exp(-2u)):
 *   y = x / (1 + exp(-2u))
 * One exp (the shared ~1 ULP vector exp) and one division instead of a
 * tanh's exp, division and polynomial, and no cancellation in 1 + tanh(u)
 * for negative x, where the tanh route in f32 loses the small result's
 * digits. The limits are the formula's: x -> -inf gives -0, x -> +inf
 * gives x. Same lane arithmetic in the body and the masked tail, so the
 * split does not change any result. y may alias x; a large, not in-place y
 * is written with streaming stores. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"


typedef struct gelu_job {
    ck_unary_args a;
    int stream; /* non-temporal stores for y */
} gelu_job;

static inline void gelu_masked(const ck_unary_args *a, size_t i, size_t n)
{
    __m256i m = avx2_tail_mask(n);
    _mm256_maskstore_ps(a->y + i, m, avx2_gelu_ps(_mm256_maskload_ps(a->x + i, m)));
}

static void gelu_range(void *arg, size_t begin, size_t end, int tid)
{
    const gelu_job *j = arg;
    const ck_unary_args *a = &j->a;
    (void)tid;
    size_t i = begin;
    if (j->stream) { /* up to an aligned y: streaming stores need it */
        size_t k = avx2_peel(a->y + i, end - i);
        if (k)
            gelu_masked(a, i, k);
        i += k;
    }
    for (; i + 8 <= end; i += 8)
        avx2_store8(a->y + i, avx2_gelu_ps(_mm256_loadu_ps(a->x + i)), j->stream);
    if (i < end)
        gelu_masked(a, i, end - i);
    if (j->stream)
        _mm_sfence();
}

int ck_avx2_f32_gelu(const ck_exec_ctx *ctx, const void *args)
{
    const ck_unary_args *a = args;
    gelu_job job = {*a, avx2_should_stream(a->n * sizeof(float), a->y, a->x)};
    avx2_parallel(ctx, a->n, AVX2_ELEM_GRAIN, gelu_range, &job);
    return CK_OK;
}
