/* f32-gelu/avx512, the tanh form
 *   y = 0.5 * x * (1 + tanh(u)),  u = 0.7978845608028654 * (x + 0.044715 x^3)
 * computed as y = x / (1 + exp(-2u)), the same function (1 + tanh(u) =
 * 2 / (1 + exp(-2u))) without the cancellation 1 + tanh(u) suffers for
 * negative x (act-avx512.h). y may alias x. */
#include "act-avx512.h"
#include "avx512-kernels.h"

#define GELU16(i, m) ck512_gelu16(_mm512_maskz_loadu_ps(m, a->x + (i)))

static void gelu_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_unary_args *a = arg;
    (void)tid;
    CK512_ELEMWISE_RANGE(a->y, begin, end, ck512_stream_out(a->n), GELU16);
}

int ck_avx512_f32_gelu(const ck_exec_ctx *ctx, const void *args)
{
    const ck_unary_args *a = args;
    if (a->n == 0)
        return CK_OK;
    ck512_parallel(ctx, a->n, CK512_ELEM_GRAIN, gelu_range, (void *)a);
    return CK_OK;
}
