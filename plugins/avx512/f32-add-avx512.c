/* f32-add/avx512 (exact class): y = a + b, one correctly rounded add per
 * element, so bit-identical to the reference. y may alias a or b. */
#include "avx512-helpers.h"
#include "avx512-kernels.h"

static void add_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_add_args *a = arg;
    (void)tid;
    size_t i = begin;
    for (; i + 32 <= end; i += 32) {
        __m512 s0 = _mm512_add_ps(_mm512_loadu_ps(a->a + i), _mm512_loadu_ps(a->b + i));
        __m512 s1 = _mm512_add_ps(_mm512_loadu_ps(a->a + i + 16), _mm512_loadu_ps(a->b + i + 16));
        _mm512_storeu_ps(a->y + i, s0);
        _mm512_storeu_ps(a->y + i + 16, s1);
    }
    for (; i < end; i += 16) {
        size_t n = end - i;
        __m512 s = _mm512_add_ps(ck512_load_tail(a->a + i, n), ck512_load_tail(a->b + i, n));
        ck512_store_tail(a->y + i, s, n);
    }
}

int ck_avx512_f32_add(const ck_exec_ctx *ctx, const void *args)
{
    const ck_add_args *a = args;
    if (a->n == 0)
        return CK_OK;
    ck512_parallel(ctx, a->n, CK512_ELEM_GRAIN, add_range, (void *)a);
    return CK_OK;
}
