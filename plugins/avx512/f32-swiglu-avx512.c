/* f32-swiglu/avx512: y = gate / (1 + exp(-gate)) * up, exp by ck512_exp
 * (~1-2 ULP), then one correctly rounded divide and multiply. y may alias
 * gate or up (each element is read before it is written). */
#include "avx512-helpers.h"
#include "avx512-kernels.h"

static inline __m512 swiglu16(__m512 g, __m512 u)
{
    return _mm512_mul_ps(_mm512_div_ps(g, ck512_one_plus_exp_neg(g)), u);
}

static void swiglu_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_swiglu_args *a = arg;
    (void)tid;
    size_t i = begin;
    for (; i + 16 <= end; i += 16)
        _mm512_storeu_ps(a->y + i, swiglu16(_mm512_loadu_ps(a->gate + i), _mm512_loadu_ps(a->up + i)));
    if (i < end) {
        size_t n = end - i;
        ck512_store_tail(a->y + i, swiglu16(ck512_load_tail(a->gate + i, n), ck512_load_tail(a->up + i, n)), n);
    }
}

int ck_avx512_f32_swiglu(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_args *a = args;
    if (!a)
        return CK_E_UNSUPPORTED;
    if (a->n == 0)
        return CK_OK;
    if (!a->gate || !a->up || !a->y)
        return CK_E_UNSUPPORTED;
    ck512_parallel(ctx, a->n, CK512_ELEM_GRAIN, swiglu_range, (void *)a);
    return CK_OK;
}
