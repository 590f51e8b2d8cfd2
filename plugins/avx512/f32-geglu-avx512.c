/* f32-geglu/avx512: y = gelu(gate) * up, gelu's tanh form through the
 * shared ck512_gelu, then one correctly rounded multiply. y may alias gate
 * or up (each element is read before it is written). */
#include "avx512-helpers.h"
#include "avx512-kernels.h"

static inline __m512 geglu16(__m512 g, __m512 u)
{
    return _mm512_mul_ps(ck512_gelu(g), u);
}

static void geglu_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_swiglu_args *a = arg;
    (void)tid;
    size_t i = begin;
    for (; i + 16 <= end; i += 16)
        _mm512_storeu_ps(a->y + i, geglu16(_mm512_loadu_ps(a->gate + i), _mm512_loadu_ps(a->up + i)));
    if (i < end) {
        size_t n = end - i;
        ck512_store_tail(a->y + i, geglu16(ck512_load_tail(a->gate + i, n), ck512_load_tail(a->up + i, n)), n);
    }
}

int ck_avx512_f32_geglu(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_args *a = args;
    if (!a)
        return CK_E_UNSUPPORTED;
    if (a->n == 0)
        return CK_OK;
    if (!a->gate || !a->up || !a->y)
        return CK_E_UNSUPPORTED;
    ck512_parallel(ctx, a->n, CK512_ELEM_GRAIN, geglu_range, (void *)a);
    return CK_OK;
}
