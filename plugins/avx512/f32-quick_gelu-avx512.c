/* f32-quick_gelu/avx512, CLIP's activation
 *   y = x sigmoid(1.702 x) = x / (1 + exp(-1.702 x))
 * in the quotient form (no cancellation for either sign, as swiglu's silu),
 * with the shared vector exp: +inf beyond exp's range gives y = -0 for
 * x << 0 and y = x for x >> 0. Same lanes in the body and the masked tail.
 * y may alias x; a large y is written with streaming stores. */
#include "avx512-helpers.h"
#include "avx512-kernels.h"

static inline __m512 quick_gelu16(__m512 x)
{
    return _mm512_div_ps(x, ck512_one_plus_exp_neg(_mm512_mul_ps(_mm512_set1_ps(1.702f), x)));
}

#define QGELU16(i, m) quick_gelu16(_mm512_maskz_loadu_ps(m, a->x + (i)))

static void quick_gelu_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_unary_args *a = arg;
    (void)tid;
    CK512_ELEMWISE_RANGE(a->y, begin, end, ck512_stream_out(a->n), QGELU16);
}

int ck_avx512_f32_quick_gelu(const ck_exec_ctx *ctx, const void *args)
{
    const ck_unary_args *a = args;
    if (a->n == 0)
        return CK_OK;
    ck512_parallel(ctx, a->n, CK512_ELEM_GRAIN, quick_gelu_range, (void *)a);
    return CK_OK;
}
